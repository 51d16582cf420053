"""Detection quality against planted (or benchmark) labels.

Definitions (N = number of planted rings, i.e. distinct non-empty ``ring_id`` of the labels):

- A flagged ring *matches* a planted ring when the Jaccard index of their
  providers and doctors (``entity_type:entity_id`` of PROVIDER and DOCTOR members)
  is at least ``min_jaccard`` (0.5). Ids are compared whatever their type: a doctor
  who also bills consultations under the same id as a provider counts once.
- Flagged rings are read best first (``rank``); the top ``K`` are the first ``K``.
  Matching is one-to-one: walking the flagged rings by rank, each takes the
  unmatched planted ring it overlaps most (ties by ring id) if the Jaccard is
  enough; a second flagged ring on an already-found planted ring is a false hit.
- ``ring_recall``: share of planted rings matched within the top 2N flagged rings.
- ``ring_precision``: share of the top min(2N, flagged) rings that matched;
  ``ring_precision_at_n`` the same over the top min(N, flagged).
- ``recruited_recall``: share of labelled ``recruited_patient`` and
  ``phantom_patient`` beneficiaries that are BENEFICIARY members of a top-2N ring.
- ``provider_ap``, ``provider_auc``: average precision (step-wise, as
  scikit-learn's ``average_precision_score``) and ROC AUC (Mann-Whitney, ties
  counting half) of provider scores (entity_scores.csv) against "labelled
  PROVIDER", over the providers scored or labelled, or exactly over ``universe``
  when given (e.g. the providers a benchmark labels Yes or No); an unscored
  provider ranks below every scored one.
- ``provider_recall_at_k``: share of labelled providers among the top K scored,
  K being the number of labelled providers (R-precision): the recall a
  classifier flagging as many providers as there are positives would have.
- Look-alike contamination (when the generator's ``lookalikes.csv`` is given): a
  flagged ring *contains* a look-alike group when one of its PROVIDER or DOCTOR
  members is one of the group's providers or doctors (ids compared whatever their
  type), or one of its BENEFICIARY members is one of the group's patients. Counted
  over the top 2N rings (every flagged ring when nothing is planted), per kind;
  ``rings_with_lookalike`` counts the rings containing a group of a care kind (every
  kind but the data-quality ones, whose providers are ordinary providers writing
  their fields differently).
"""

from __future__ import annotations

from collections.abc import Iterable
from detectors.io import read_findings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["evaluate", "average_precision", "roc_auc", "recall_at_k", "match_rings", "lookalike_report",
           "NOISE_KINDS"]

_ANCHORS = ("PROVIDER", "DOCTOR")
# Look-alike kinds that are data quality, not a care pattern: left out of the headline count.
NOISE_KINDS = ("specialty_spelling", "missing_fields", "phone_format")


def average_precision(y_true: Iterable[int], scores: Iterable[float]) -> float:
    """Average precision: sum over score thresholds of (recall step) x precision.

    Tied scores form one threshold, as in scikit-learn. NaN when there is no positive.

    Parameters
    ----------
    y_true : iterable of int
        1 for positives.
    scores : iterable of float
        Higher is more suspicious.
    """
    y, s = _arrays(y_true, scores)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    tp = np.cumsum(y)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each tied block
    tp_t = tp[last]
    precision = tp_t / (last + 1)
    recall = tp_t / n_pos
    steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(steps * precision))


def recall_at_k(y_true: Iterable[int], scores: Iterable[float], k: int | None = None) -> float:
    """Share of positives among the ``k`` best scores (``k`` defaults to the number of positives).

    Ties at the cut are shared out: each tied item counts for the share of the
    remaining places, so the result does not depend on input order.

    Parameters
    ----------
    y_true, scores : iterable
        As in :func:`average_precision`.
    k : int, optional
    """
    y, s = _arrays(y_true, scores)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    k = n_pos if k is None else int(k)
    if k <= 0:
        return 0.0
    k = min(k, len(s))
    cut = np.sort(s)[::-1][k - 1]
    above = s > cut
    tied = s == cut
    places = k - int(above.sum())
    hits = y[above].sum() + (y[tied].sum() * places / tied.sum() if tied.any() else 0.0)
    return float(hits / n_pos)


def roc_auc(y_true: Iterable[int], scores: Iterable[float]) -> float:
    """Area under the ROC curve: probability a positive outscores a negative, ties counting half.

    NaN unless both classes are present.

    Parameters
    ----------
    y_true, scores : iterable
        As in :func:`average_precision`.
    """
    y, s = _arrays(y_true, scores)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _arrays(y_true: Iterable[int], scores: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """Labels as integers and scores as floats, aligned."""
    return np.asarray(list(y_true), dtype=int), np.asarray(list(scores), dtype=float)


def match_rings(planted: dict[str, set], flagged: list[tuple[str, set]], *,
                min_jaccard: float = 0.5) -> list[tuple[str, str | None, float]]:
    """One-to-one matching of flagged rings (in rank order) to planted rings.

    Parameters
    ----------
    planted : dict of str to set
        Planted ring id -> its members.
    flagged : list of (str, set)
        Flagged ring id and members, best first.
    min_jaccard : float
        Smallest overlap that counts as a match.

    Returns
    -------
    list of (flagged ring id, matched planted ring id or None, best Jaccard)
    """
    taken: set[str] = set()
    out = []
    for fid, fset in flagged:
        best, best_j = None, 0.0
        for pid in sorted(planted):
            if pid in taken:
                continue
            pset = planted[pid]
            union = len(fset | pset)
            j = len(fset & pset) / union if union else 0.0
            if j > best_j:
                best, best_j = pid, j
        if best is not None and best_j >= min_jaccard:
            taken.add(best)
            out.append((fid, best, best_j))
        else:
            out.append((fid, None, best_j))
    return out


def evaluate(labels: pd.DataFrame, findings: Any, *, min_jaccard: float = 0.5,
             universe: Iterable[str] | None = None, lookalikes: pd.DataFrame | None = None) -> dict[str, Any]:
    """Score findings against labels.

    Parameters
    ----------
    labels : DataFrame
        Label contract columns (entity_type, entity_id, ring_id, role, scenario).
    findings : path or DetectionResult or dict
        A findings folder, a :class:`~detectors.pipeline.DetectionResult`, or a dict of
        ``rings``, ``members``, ``entity_scores`` frames.
    min_jaccard : float
    universe : iterable of str, optional
        Exactly the provider ids to rank (default: those scored or labelled).
    lookalikes : DataFrame, optional
        The generator's look-alikes (kind, entity_type, entity_id, group_id, role); adds
        ``lookalikes`` (see :func:`lookalike_report`) over the top 2N rings.

    Returns
    -------
    dict
        n_planted, n_flagged, ring_recall, ring_precision, ring_precision_at_n,
        recruited_recall, provider_ap, provider_auc, provider_recall_at_k, n_providers, n_positive_providers,
        per_scenario recall, the matches, and ``lookalikes`` when given.
    """
    frames = _frames(findings)
    rings, members, scores = frames["rings"], frames["members"], frames["entity_scores"]
    lab = labels.copy()
    lab["ring_id"] = lab["ring_id"].fillna("").astype(str)
    lab["entity_id"] = lab["entity_id"].astype(str)
    planted_rows = lab[(lab["ring_id"] != "") & lab["entity_type"].isin(_ANCHORS)]
    planted = {rid: set(g["entity_id"]) for rid, g in planted_rows.groupby("ring_id")}
    scenario = lab[lab["ring_id"] != ""].groupby("ring_id")["scenario"].first().to_dict()
    n = len(planted)
    ranked = rings.sort_values("rank", kind="mergesort")["ring_id"].astype(str).tolist()
    anchors = members[members["entity_type"].isin(_ANCHORS)]
    sets = {rid: set(g["entity_id"].astype(str)) for rid, g in anchors.groupby(anchors["ring_id"].astype(str))}
    top2n = ranked[: 2 * n]
    matches = match_rings(planted, [(r, sets.get(r, set())) for r in top2n], min_jaccard=min_jaccard)
    found = {m[1] for m in matches if m[1] is not None}
    top_n_hits = sum(m[1] is not None for m in matches[:n])
    hits = len(found)

    in_top = members[members["ring_id"].astype(str).isin(set(top2n)) & (members["entity_type"] == "BENEFICIARY")]
    recruited = set(lab.loc[(lab["entity_type"] == "BENEFICIARY")
                            & lab["role"].isin(("recruited_patient", "phantom_patient")), "entity_id"])
    rec_found = len(recruited & set(in_top["entity_id"].astype(str)))

    prov_scores = scores[scores["entity_type"] == "PROVIDER"]
    score_of = dict(zip(prov_scores["entity_id"].astype(str), prov_scores["score"].astype(float)))
    positives = set(lab.loc[lab["entity_type"] == "PROVIDER", "entity_id"])
    if universe is None:
        ids = sorted(set(score_of) | set(lab.loc[lab["entity_type"] == "PROVIDER", "entity_id"]))
    else:
        ids = sorted({str(u) for u in universe})
    floor = (min(score_of.values()) if score_of else 0.0) - 1.0
    y = [int(i in positives) for i in ids]
    s = [score_of.get(i, floor) for i in ids]

    per_scenario: dict[str, dict[str, int]] = {}
    for rid in sorted(planted):
        d = per_scenario.setdefault(str(scenario.get(rid, "")), {"planted": 0, "found": 0})
        d["planted"] += 1
        d["found"] += int(rid in found)
    k2 = len(top2n)
    kn = min(n, len(ranked))
    extra = {}
    if lookalikes is not None:
        extra["lookalikes"] = lookalike_report(lookalikes, frames, top=2 * n if n else None)
    return extra | {
        "n_planted": n,
        "n_flagged": len(ranked),
        "ring_recall": hits / n if n else float("nan"),
        "ring_precision": hits / k2 if k2 else float("nan"),
        "ring_precision_at_n": top_n_hits / kn if kn else float("nan"),
        "recruited_recall": rec_found / len(recruited) if recruited else float("nan"),
        "provider_ap": average_precision(y, s),
        "provider_auc": roc_auc(y, s),
        "provider_recall_at_k": recall_at_k(y, s),
        "n_providers": len(ids),
        "n_positive_providers": int(sum(y)),
        "per_scenario": per_scenario,
        "matches": [{"ring_id": f, "planted": p, "jaccard": round(j, 3)} for f, p, j in matches],
    }


def _frames(findings: Any) -> dict[str, pd.DataFrame]:
    if isinstance(findings, (str, Path)):
        return read_findings(findings)
    if isinstance(findings, dict):
        return findings
    return {"rings": findings.rings, "members": findings.members, "entity_scores": findings.entity_scores}


def lookalike_report(lookalikes: pd.DataFrame, findings: Any, *, top: int | None = None) -> dict[str, Any]:
    """How many of the best flagged rings contain a legitimate look-alike, per kind.

    Parameters
    ----------
    lookalikes : DataFrame
        kind, entity_type, entity_id, group_id (the generator's ``lookalikes.csv``).
    findings : path, DetectionResult or dict of frames
    top : int, optional
        Rings read, best first (default: every flagged ring).

    Returns
    -------
    dict
        ``top`` (rings read), ``rings_with_lookalike`` (rings containing a group of a care
        kind), ``rings`` (those ring ids) and ``per_kind``: kind -> ``groups`` planted,
        ``groups_in_rings`` and ``rings`` (rings containing one of its groups).
    """
    frames = _frames(findings)
    ranked = frames["rings"].sort_values("rank", kind="mergesort")["ring_id"].astype(str).tolist()
    read = ranked if top is None else ranked[:top]
    members = frames["members"]
    members = members[members["ring_id"].astype(str).isin(set(read))]
    la = lookalikes.astype({"entity_id": str})
    people = la["entity_type"].isin(_ANCHORS)
    patients = la["entity_type"] == "BENEFICIARY"
    ring_of: dict[tuple[str, str], set[str]] = {}
    for rid, etype, eid in zip(members["ring_id"].astype(str), members["entity_type"], members["entity_id"].astype(str)):
        key = ("ANCHOR" if etype in _ANCHORS else str(etype), eid)
        ring_of.setdefault(key, set()).add(rid)
    per_kind: dict[str, dict[str, int]] = {}
    care_rings: set[str] = set()
    for kind, rows in la.groupby("kind", sort=True):
        hit_rings: set[str] = set()
        hit_groups: set[str] = set()
        sel = rows[people.loc[rows.index] | patients.loc[rows.index]]
        for gid, etype, eid in zip(sel["group_id"], sel["entity_type"], sel["entity_id"]):
            rings = ring_of.get(("ANCHOR" if etype in _ANCHORS else "BENEFICIARY", eid))
            if rings:
                hit_rings |= rings
                hit_groups.add(str(gid))
        per_kind[str(kind)] = {"groups": int(rows["group_id"].nunique()), "groups_in_rings": len(hit_groups),
                               "rings": len(hit_rings)}
        if kind not in NOISE_KINDS:
            care_rings |= hit_rings
    return {"top": len(read), "rings_with_lookalike": len(care_rings),
            "rings": [r for r in read if r in care_rings], "per_kind": per_kind}
