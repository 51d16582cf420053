"""Rings, assembled by deterministic rules from what the detectors found.

The rules, in order (a prosecutor gets the same ring from the same data):

1. Candidates are the groups of the rule-based detectors (funnels, cores, loops,
   phantoms, pharmacy rings, mills). Louvain communities never make a ring by
   themselves: they only add support to candidates whose providers they keep together;
   nor do the detectors of ``rings.support_only`` (dense cores by default): their
   groups merge into rings other detectors found, with their providers and doctors
   only (patients two providers merely share are not tied to the ring by that alone).
2. A candidate's anchors are its providers and doctors. Candidates are taken best
   first (score, then id) and merged into the ring sharing the most anchors with
   them, provided the overlap is at least half of the smaller set and the ring stays
   within ``max_anchors``; then rings merge the same way until none can. The scenario is that of the
   most specific detector among those that found it (funnels, phantoms, pharmacy
   rings, mills, loops, cores).
3. Each entity's suspicion is Fisher's combination of its positive per-detector
   surprises, over the detectors that draw no random numbers (not communities, not
   centrality); a ring's score is Fisher's combination of the best group surprise of
   each rule-based detector that found it (community support is listed in
   ``detectors`` but not scored); rings under ``rings.alert_surprise`` are dropped.
4. The amount at risk is the claimed amount of the ring's suspicious acts: lines
   billed by its providers that are attended by its doctors, or are for its
   patients, or are suspicious (Tadamon and expensive or far, or ALD drugs for
   non-ALD patients).
5. The ring id is a hash of its sorted anchors; ranks are unique (score, then id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from detectors.base import line_flags
from detectors.calibration import combine, combine_many
from detectors.config import DetectionConfig
from detectors.findings import Findings

__all__ = ["assemble_rings", "at_risk_mask", "entity_suspicion", "ring_id", "RING_COLUMNS", "MEMBER_COLUMNS", "SCENARIOS"]

RING_COLUMNS = ["ring_id", "rank", "score", "size", "amount_at_risk", "summary", "scenario", "regions", "regimes",
                "detectors"]
MEMBER_COLUMNS = ["ring_id", "entity_type", "entity_id", "role", "score", "evidence"]

#: detector name -> the scenario it points to
SCENARIOS: dict[str, str] = {
    "funnels": "recruiter_funnel",
    "loops": "kickback_loop",
    "phantoms": "phantom_patients",
    "pharmacy_rings": "pharmacy_ring",
    "mills": "lab_mill",
    "cores": "dense_core",
}
_ANCHOR_TYPES = ("PROVIDER", "DOCTOR")
#: Detectors whose output depends on the seed.
SEEDED = ("communities", "centrality")
# When several detectors found a ring, the most specific pattern names its scenario.
_LEAD_ORDER = ["funnels", "phantoms", "pharmacy_rings", "mills", "loops", "cores"]
_PROVIDER_ROLES = {"CLINIC": "clinic", "HOSPITAL": "hospital", "LAB": "lab", "IMAGING": "imaging",
                   "PHARMACY": "pharmacy", "DOCTOR": "doctor", "DENTIST": "dentist"}


def ring_id(anchors: Sequence[tuple[str, str]]) -> str:
    """Stable id of a ring from its (entity_type, entity_id) anchors, whatever their order.

    Parameters
    ----------
    anchors : sequence of (str, str)
    """
    text = "\n".join(f"{t}:{i}" for t, i in sorted(set(anchors)))
    return "RING-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10].upper()


def entity_suspicion(findings: Sequence[Findings]) -> pd.DataFrame:
    """Combine every detector's entity scores into one surprise per entity.

    Every detector scores on the one scale of :mod:`detectors.calibration` (a
    surprise: -log10 of a multiplicity-corrected tail probability against peers);
    an entity's surprise is Fisher's combination of its positive ones, one per
    detector, or its best one when none is positive (so the ranking goes on below
    zero for the unremarkable).

    Parameters
    ----------
    findings : sequence of Findings
    cap : float
        Cap on each detector's z.

    Returns
    -------
    DataFrame
        entity_type, entity_id, score, top_reason, top_detector; best first.
    """
    parts = []
    for f in findings:
        sc = f.scores
        if sc.empty:
            continue
        parts.append(pd.DataFrame({"entity_type": sc["entity_type"].astype(str).to_numpy(),
                                   "entity_id": sc["entity_id"].astype(str).to_numpy(),
                                   "z": sc["score"].to_numpy(float), "reason": sc["evidence"].astype(str).to_numpy(),
                                   "detector": f.detector}))
    if not parts:
        return pd.DataFrame(columns=["entity_type", "entity_id", "score", "top_reason", "top_detector"])
    allz = pd.concat(parts, ignore_index=True).sort_values(
        ["entity_type", "entity_id", "z", "detector"], ascending=[True, True, False, True], kind="mergesort")
    allz = allz.drop_duplicates(["entity_type", "entity_id", "detector"])
    keys = ["entity_type", "entity_id"]
    best = allz.drop_duplicates(keys).set_index(keys)
    positive = allz[allz["z"] > 0]
    fisher = positive.groupby(keys, sort=True)["z"].agg(["sum", "size"])
    combined = pd.Series(combine_many(fisher["sum"].to_numpy(), fisher["size"].to_numpy()), index=fisher.index)
    score = best["z"].copy()
    score.loc[combined.index] = combined.to_numpy()
    out = pd.DataFrame({"score": score.round(6), "top_reason": best["reason"],
                        "top_detector": best["detector"]}).reset_index()
    return out.sort_values(["score", "entity_type", "entity_id"], ascending=[False, True, True],
                           kind="mergesort").reset_index(drop=True)


def assemble_rings(findings: Sequence[Findings], claims: pd.DataFrame, *, max_rings: int = 200,
                   lines: pd.DataFrame | None = None,
                   config: DetectionConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assemble, score and rank rings from the detectors' findings.

    Parameters
    ----------
    findings : sequence of Findings
    claims : DataFrame
        The claims the findings were computed on.
    max_rings : int
        Most rings returned, best first.
    lines : DataFrame, optional
        ``DetectionContext.lines`` when already computed (else derived from ``claims``).
    config : DetectionConfig, optional
        Its ``rings`` section: ``max_anchors``, ``min_overlap``, ``min_shared_anchors``, ``support_only``,
        ``alert_surprise``.

    Returns
    -------
    (rings, members)
        :data:`RING_COLUMNS` and :data:`MEMBER_COLUMNS` frames.
    """
    config = config or DetectionConfig()
    rules = config.section("rings")
    if lines is None:
        lines = line_flags(claims, config=config)
    # Seeded detectors (Louvain, sampled betweenness) never weigh on a ring: same data, same ring, any seed.
    suspicion = entity_suspicion([f for f in findings if f.detector not in SEEDED])
    susp = dict(zip(zip(suspicion["entity_type"], suspicion["entity_id"]), suspicion["score"]))
    support_only = set(config.names("rings.support_only"))
    candidates = _candidates(findings, support_only)
    rings = _merge(candidates, rules["max_anchors"], rules["min_overlap"], rules["min_shared_anchors"])
    rings = [r for r in rings if not r["detectors"] <= support_only]
    support = _community_support(findings)
    ptypes = lines.groupby("provider_id")["provider_type"].first().to_dict()
    surgery = lines["act_family"] == "SURGERY"
    # A surgeon is whoever performs or bills surgery, whatever the specialty's spelling.
    surgeons = set(lines.loc[surgery, "doctor_id"].dropna().astype(str)) | set(
        lines.loc[surgery & (lines["provider_type"] == "DOCTOR"), "provider_id"].astype(str))
    # Only lines billed by some ring's provider can be at risk: filter once, not per ring.
    ring_providers = {i for ring in rings for t, i in ring["anchors"] if t == "PROVIDER"}
    lines = lines.loc[lines["provider_id"].isin(ring_providers)]
    # Each ring reads only its own providers' lines (in window order, so sums add up the same way).
    rows_of = lines.groupby("provider_id", sort=False, observed=True).indices
    ring_rows, member_rows = [], []
    for ring in rings:
        anchors = sorted(ring["anchors"])
        rid = ring_id(anchors)
        members = _members(ring, rid, susp, ptypes, surgeons)
        own = [rows_of[m["entity_id"]] for m in members if m["entity_type"] == "PROVIDER" and m["entity_id"] in rows_of]
        ring_lines = lines.iloc[np.sort(np.concatenate(own)) if own else np.array([], dtype=np.int64)]
        lines_at_risk = ring_lines.loc[at_risk_mask(ring_lines, members)]
        amount = float(lines_at_risk["amount_claimed"].sum())
        detectors = sorted(ring["detectors"] | ({"communities"} if support & _provider_set(anchors) else set()))
        # One surprise per rule-based detector that found it (its best group), combined by Fisher's method.
        # Louvain support is listed but not scored, so no seed can move a ring's rank.
        score = combine([v for v in ring["by_detector"].values() if v > 0]) or max(ring["by_detector"].values())
        if score < rules["alert_surprise"]:
            continue
        regions = sorted(set(lines_at_risk["provider_region"].dropna().astype(str))
                         | set(lines_at_risk["beneficiary_region"].dropna().astype(str)))
        regimes = sorted(set(lines_at_risk["regime"].dropna().astype(str)))
        ring_rows.append({
            "ring_id": rid, "score": round(score, 6), "size": len(members), "amount_at_risk": round(amount, 2),
            "summary": _summary(ring, members, amount), "scenario": SCENARIOS.get(ring["lead"], ring["lead"]),
            "regions": ",".join(regions), "regimes": ",".join(regimes), "detectors": ",".join(detectors),
        })
        member_rows.extend(members)
    if not ring_rows:
        return pd.DataFrame(columns=RING_COLUMNS), pd.DataFrame(columns=MEMBER_COLUMNS)
    out = pd.DataFrame(ring_rows).drop_duplicates("ring_id")
    out = out.sort_values(["score", "amount_at_risk", "ring_id"], ascending=[False, False, True],
                          kind="mergesort").head(max_rings)
    out["rank"] = np.arange(1, len(out) + 1)
    members = pd.DataFrame(member_rows, columns=MEMBER_COLUMNS)
    members = members[members["ring_id"].isin(set(out["ring_id"]))].drop_duplicates(
        ["ring_id", "entity_type", "entity_id"])
    members = members.sort_values(["ring_id", "score", "entity_type", "entity_id"],
                                  ascending=[True, False, True, True], kind="mergesort").reset_index(drop=True)
    return out[RING_COLUMNS].reset_index(drop=True), members


def _candidates(findings: Sequence[Findings], support_only: set[str]) -> list[dict]:
    out = []
    for f in findings:
        if f.detector not in SCENARIOS or f.groups.empty:
            continue
        groups = f.groups
        if f.detector in support_only:
            groups = groups[groups["entity_type"] != "BENEFICIARY"]
        for gid, g in groups.groupby("group_id", sort=True):
            anchors = {(t, str(i)) for t, i in zip(g["entity_type"], g["entity_id"]) if t in _ANCHOR_TYPES}
            if not anchors:
                continue
            out.append({"group_id": str(gid), "detector": f.detector, "anchors": anchors,
                        "score": float(g["score"].max()), "rows": g})
    return sorted(out, key=lambda c: (-c["score"], c["detector"], c["group_id"]))


def _merge(candidates: list[dict], max_anchors: int, min_overlap: float, min_shared: int) -> list[dict]:
    rings: list[dict] = []
    for c in candidates:
        target = _best_overlap(c["anchors"], rings, max_anchors, min_overlap, min_shared)
        ring = {"anchors": set(c["anchors"]), "detectors": {c["detector"]}, "rows": [c["rows"]],
                "groups": [c["group_id"]], "by_detector": {c["detector"]: c["score"]}}
        if target is None:
            rings.append(ring)
        else:
            _absorb(target, ring)
    # Then rings that grew into each other merge, to a fixed point.
    changed = True
    while changed:
        changed = False
        for i, ring in enumerate(rings):
            target = _best_overlap(ring["anchors"], rings[:i], max_anchors, min_overlap, min_shared)
            if target is not None:
                _absorb(target, ring)
                del rings[i]
                changed = True
                break
    for ring in rings:
        ring["lead"] = min(ring["detectors"], key=_LEAD_ORDER.index)
    return rings


def _best_overlap(anchors: set, rings: list[dict], max_anchors: int, min_overlap: float,
                  min_shared: int) -> dict | None:
    """The ring sharing the most anchors with ``anchors`` (at least ``min_overlap`` of the smaller set), else None.

    Most, not first: a lab serving two rings joins, with its referring doctor, the ring of that doctor.
    """
    best, best_overlap = None, 0
    for ring in rings:
        common = ring["anchors"] & anchors
        overlap = len(common)
        # One shared doctor is not enough to tie two patterns (a mill's referrer who also prescribes at a
        # pharmacy): they must share a provider, or ``min_shared`` anchors.
        tied = overlap >= min_shared or any(t == "PROVIDER" for t, _ in common)
        if (tied and overlap > best_overlap and overlap >= min_overlap * min(len(ring["anchors"]), len(anchors))
                and len(ring["anchors"] | anchors) <= max_anchors):
            best, best_overlap = ring, overlap
    return best


def _absorb(ring: dict, other: dict) -> None:
    ring["anchors"] |= other["anchors"]
    ring["detectors"] |= other["detectors"]
    ring["rows"].extend(other["rows"])
    ring["groups"].extend(other["groups"])
    for name, value in other["by_detector"].items():
        ring["by_detector"][name] = max(value, ring["by_detector"].get(name, value))


def _community_support(findings: Sequence[Findings]) -> set:
    pairs = set()
    for f in findings:
        if f.detector != "communities" or f.groups.empty:
            continue
        for _, g in f.groups.groupby("group_id", sort=True):
            pairs.add(frozenset(g["entity_id"].astype(str)))
    return {p for p in pairs}


def _provider_set(anchors: list[tuple[str, str]]) -> set:
    provs = frozenset(i for t, i in anchors if t == "PROVIDER")
    return {provs} if len(provs) >= 2 else set()


def _members(ring: dict, rid: str, susp: dict, ptypes: dict, surgeons: set) -> list[dict]:
    rows = pd.concat(ring["rows"], ignore_index=True).sort_values(
        ["score", "entity_type", "entity_id"], ascending=[False, True, True], kind="mergesort")
    best = rows.drop_duplicates(["entity_type", "entity_id"])
    roles_of = rows.groupby(["entity_type", rows["entity_id"].astype(str)])["role"].agg(set).to_dict()
    out = []
    for r in best.itertuples(index=False):
        key = (r.entity_type, str(r.entity_id))
        role = _role(r.entity_type, str(r.entity_id), roles_of.get(key, set()), ptypes, surgeons)
        score = susp.get(key, float(r.score)) if r.entity_type in _ANCHOR_TYPES + ("INTERMEDIARY",) else float(r.score)
        out.append({"ring_id": rid, "entity_type": r.entity_type, "entity_id": str(r.entity_id), "role": role,
                    "score": round(float(score), 6), "evidence": str(r.evidence)})
    return out


#: Patient roles, most specific first: a patient's role is the first its evidence gives.
_PATIENT_ROLES = ("phantom_patient", "recruited_patient", "looped_patient", "core_patient")


def _role(etype: str, eid: str, roles: set, ptypes: dict, surgeons: set) -> str:
    """A member's role from its evidence: what it billed, performed or was found doing."""
    if etype == "PROVIDER":
        return _PROVIDER_ROLES.get(ptypes.get(eid), "provider")
    if etype == "DOCTOR":
        if eid in surgeons:
            return "surgeon"
        return "prescriber" if "prescriber" in roles else "doctor"
    if etype == "INTERMEDIARY":
        return "recruiter"
    for role in _PATIENT_ROLES:
        if role in roles:
            return role
    return sorted(roles)[0] if roles else "patient"


def at_risk_mask(lines: pd.DataFrame, members: pd.DataFrame | Sequence[dict]) -> np.ndarray:
    """Which claim lines make a ring's amount at risk: the one rule, for rings and evidence alike.

    A line is at risk when a member provider billed it and it was attended by a
    member doctor, or billed for a member patient, or is suspicious by itself
    (Tadamon and expensive or far from home, or an ALD drug for a patient without ALD).

    Parameters
    ----------
    lines : DataFrame
        :func:`detectors.base.line_flags` of the run's claims window (the
        ``suspicious`` flag depends on the whole window).
    members : DataFrame or sequence of dict
        The ring's members (``entity_type``, ``entity_id``).

    Returns
    -------
    ndarray of bool
        Aligned with the rows of ``lines``.
    """
    members = pd.DataFrame(list(members) if not isinstance(members, pd.DataFrame) else members)

    def ids(entity_type: str) -> set[str]:
        if members.empty:
            return set()
        return set(members.loc[members["entity_type"] == entity_type, "entity_id"].astype(str))

    mask = lines["provider_id"].isin(ids("PROVIDER")) & (
        lines["doctor_id"].isin(ids("DOCTOR")) | lines["suspicious"] | lines["beneficiary_id"].isin(ids("BENEFICIARY")))
    return mask.fillna(False).to_numpy(bool)


def _summary(ring: dict, members: list[dict], amount: float) -> str:
    count = {t: sum(m["entity_type"] == t for m in members) for t in ("PROVIDER", "DOCTOR", "INTERMEDIARY",
                                                                     "BENEFICIARY")}
    scenario = SCENARIOS.get(ring["lead"], ring["lead"]).replace("_", " ")
    parts = [f"{count['PROVIDER']} provider(s)", f"{count['DOCTOR']} doctor(s)"]
    if count["INTERMEDIARY"]:
        parts.append(f"{count['INTERMEDIARY']} inferred intermediary(ies)")
    if count["BENEFICIARY"]:
        parts.append(f"{count['BENEFICIARY']} patients")
    found_by = ", ".join(sorted(ring["detectors"]))
    return f"Suspected {scenario}: {', '.join(parts)}; {amount:,.0f} MAD at risk; found by {found_by}."
