"""Risk of an incoming dossier, from what the latest run found: a lookup index and its scorer.

:func:`build_risk_index` turns a run's findings into a :class:`RiskIndex` of plain
dictionaries, so that scoring a dossier at submission is a handful of lookups per line:

- ``provider``: the billing provider is on the prior-authorisation watchlist for the
  line's act family (weighed more when the line lacks the prior authorisation its family
  usually carries), or is a member of a ring, or its control indicators stand out from its
  peers (the ``indicators`` detector's score);
- ``doctor``: the attending or prescribing doctor is a member of a ring;
- ``recruiter``: the dossier's phone, payee account, referrer or submission point is an
  identifier an inferred recruiter uses (keyed hashes, never the values);
- ``patient``: the beneficiary (or their household) was recruited before: a recruited
  member of an inferred intermediary or a patient member of a ring (keyed hashes);
- ``profile``: at a watched or ring provider, a Tadamon patient from another region, or
  a surgery or stay for a Tadamon patient (the run's own rule for suspicious lines);
- ``peers``: the line's amount per unit or quantity is above what the provider's peers
  (same provider type) bill for that act code in the run's window.

A dossier's score is the sum, over these kinds, of the largest weight of a reason of
that kind; its level is ``high``, ``medium``, ``low`` or ``none`` by :data:`LEVELS`.
The weights and level thresholds were chosen on generated worlds of tuning seeds and
frozen (``docs/apriori.md`` gives the held-out measure). Pure: the caller passes the key
of the identifier hash and stores the index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RiskIndex", "DossierScorer", "level_of", "build_risk_index", "identifier_hasher", "WEIGHTS", "LEVELS", "SCORE_COLUMNS",
           "HASHED_COLUMNS", "INDEX_KINDS", "key_fingerprint"]

#: Weight of each reason; a dossier counts the largest of each kind (see module notes).
WEIGHTS: dict[str, float] = {
    "watch_no_auth": 3.0,
    "watch": 2.0,
    "ring_provider": 1.5,
    "ring_doctor": 2.0,
    "recruiter_contact_ring": 3.0,
    "recruiter_contact": 2.0,
    "recruiter_point": 1.0,
    "recruited_beneficiary": 2.5,
    "recruited_household": 1.5,
    "profile": 0.5,
    "peer_line": 1.0,
    "peer_indicators": 1.0,
}
#: Smallest score of each level, highest first; any reason at all makes a dossier at least ``low``.
LEVELS: tuple[tuple[str, float], ...] = (("high", 4.0), ("medium", 2.5), ("low", 0.0))
#: Columns of the scores file, one row per dossier.
SCORE_COLUMNS = ["claim_id", "level", "score", "reasons", "lines"]
#: Claims columns whose values are hashed before any lookup, with the identifier type hashed with them.
HASHED_COLUMNS: dict[str, str] = {"beneficiary_id": "BENEFICIARY", "household_id": "HOUSEHOLD",
                                  "contact_phone": "PHONE", "payee_account": "ACCOUNT",
                                  "referrer_id": "REFERRER", "submission_point_id": "SUBMISSION_POINT"}
#: The index's tables (see :class:`RiskIndex`).
INDEX_KINDS = ("watch", "provider", "doctor", "identifier", "beneficiary", "household", "indicator", "peer",
               "authorised")
_KIND_ORDER = ("provider", "doctor", "recruiter", "patient", "profile", "peers")
_STAYS = ("SURGERY", "HOSPITAL_STAY")
_TABLE_OF = {"BENEFICIARY": "beneficiary", "HOUSEHOLD": "household"}


def key_fingerprint(key: bytes) -> str:
    """Which key hashed an index's identifiers (a fingerprint, not the key)."""
    return hashlib.sha256(b"shabaka-risk-index-key-id\x00" + key).hexdigest()[:16]


def identifier_hasher(key: bytes) -> Callable[[str, str], str]:
    """``f(identifier_type, value) -> hex digest``: keyed BLAKE2b of the typed value.

    The key is derived from ``key`` (the fund's pseudonymisation key) for this use only,
    so the index's hashes are not the viewer's pseudonyms.
    """
    derived = hashlib.sha256(b"shabaka-risk-index\x00" + key).digest()

    def digest(kind: str, value: str) -> str:
        return hashlib.blake2b(f"{kind}:{value}".encode("utf-8"), key=derived, digest_size=16).hexdigest()
    return digest


@dataclass
class RiskIndex:
    """Lookup tables of one run (see module notes).

    Attributes
    ----------
    run_id : str
    tables : dict
        One dict per :data:`INDEX_KINDS`: ``watch`` keyed by ``(provider_id, act_family)``,
        ``peer`` by ``(provider_type, act_code)`` with ``(unit_limit, quantity_limit)``,
        ``identifier``/``beneficiary``/``household`` by keyed hash, the others by id;
        values ``(reason code, reason)``, the code's weight read from :data:`WEIGHTS` when
        scoring; ``watch`` holds a list of ``(ring_id, since, reason, rank)``, best ring
        first, so a ring whose case is dismissed later gives way to the next;
        ``authorised``: act family -> share of its lines carrying a prior authorisation.
    """

    run_id: str
    tables: dict[str, dict] = field(default_factory=lambda: {k: {} for k in INDEX_KINDS})

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The index as ``(kind, key, code, text)`` rows for storage (tuple keys joined by a tab)."""
        out = []
        for kind in INDEX_KINDS:
            for key, value in sorted(self.tables[kind].items()):
                flat = "\t".join(key) if isinstance(key, tuple) else key
                if kind == "watch":
                    out.extend((kind, f"{flat}\t{entry[3]:06d}", entry[1], f"{entry[0]}\t{entry[2]}")
                               for entry in value)
                elif kind == "peer":
                    out.append((kind, flat, repr(float(value[0])), repr(float(value[1]))))
                elif kind == "authorised":
                    out.append((kind, flat, repr(float(value)), ""))
                else:
                    out.append((kind, flat, value[0], value[1]))
        return out

    @classmethod
    def from_rows(cls, run_id: str, rows: Sequence[tuple[str, str, str, str]]) -> RiskIndex:
        """Rebuild the index from :meth:`rows`."""
        index = cls(run_id)
        for kind, key, code, text in rows:
            if kind == "watch":
                provider, family, rank = key.split("\t")
                ring, reason = text.split("\t", 1)
                index.tables[kind].setdefault((provider, family), []).append((ring, code, reason, int(rank)))
            elif kind == "peer":
                index.tables[kind][tuple(key.split("\t"))] = (float(code), float(text))
            elif kind == "authorised":
                index.tables[kind][key] = float(code)
            else:
                index.tables[kind][key] = (code, text)
        for entries in index.tables["watch"].values():
            entries.sort(key=lambda e: (e[3], e[0]))
        return index

    def score(self, columns: Mapping[str, Sequence[Any]], hasher: Callable[[str, str], str],
              *, closed_rings: frozenset[str] | set[str] = frozenset()) -> list[dict[str, Any]]:
        """Score dossiers given as validated claim columns (all their lines at once).

        Parameters
        ----------
        columns : mapping
            Claims-contract column -> list of values, one per validated line (dates as
            dates, amounts as floats, empty values None); optional columns may be absent.
        hasher : callable
            :func:`identifier_hasher` of the key the index was built with.
        closed_rings : set of str
            Rings whose case is now dismissed: their watchlist entries no longer count.

        Returns
        -------
        list of dict
            One per dossier, in order of first line: :data:`SCORE_COLUMNS`.
        """
        scorer = self.scorer(hasher, closed_rings=closed_rings)
        scorer.add(columns)
        return scorer.results()

    def scorer(self, hasher: Callable[[str, str], str], *,
               closed_rings: frozenset[str] | set[str] = frozenset()) -> DossierScorer:
        """A :class:`DossierScorer` fed in chunks (a dossier's lines may span several)."""
        return DossierScorer(self, hasher, closed_rings)


class DossierScorer:
    """Accumulates each dossier's heaviest reason of every kind over chunks of lines."""

    def __init__(self, index: RiskIndex, hasher: Callable[[str, str], str], closed_rings=frozenset()):
        self.tables = index.tables
        self.hasher = hasher
        self.closed = frozenset(closed_rings)
        self.best: dict[str, dict[str, tuple[float, str]]] = {}
        self.n_lines: dict[str, int] = {}
        self._memo: dict[tuple[str, Any], str] = {}

    def _hashed(self, kind: str, value: Any) -> str:
        key = (kind, value)
        digest = self._memo.get(key)
        if digest is None:
            if len(self._memo) > 500_000:  # a dossier's lines repeat values; a day's file need not stay
                self._memo.clear()
            digest = self._memo[key] = self.hasher(kind, str(value))
        return digest

    def add(self, columns: Mapping[str, Sequence[Any]]) -> None:
        """Add validated lines (see :meth:`RiskIndex.score` for ``columns``)."""
        n = len(columns["claim_id"])
        col = {name: list(columns[name]) if name in columns else [None] * n for name in (
            "claim_id", "provider_id", "provider_type", "act_family", "act_code", "doctor_id", "prior_auth_id",
            "quantity", "amount_claimed", "regime", "beneficiary_region", "provider_region", "channel",
            *HASHED_COLUMNS)}
        t = self.tables
        for i in range(n):
            claim = col["claim_id"][i]
            hits = self.best.setdefault(claim, {})
            self.n_lines[claim] = self.n_lines.get(claim, 0) + 1
            provider, family = col["provider_id"][i], col["act_family"][i]
            watch = next((w for w in t["watch"].get((provider, family), ()) if w[0] not in self.closed), None)
            provider_hit = False
            if watch is not None:
                if family in t["authorised"] and not col["prior_auth_id"][i]:
                    weight, note = WEIGHTS["watch_no_auth"], "without the prior authorisation its peers carry, "
                else:
                    weight, note = WEIGHTS["watch"], ""
                _keep(hits, "provider", weight, f"{watch[2]} ({note}on the watchlist since {watch[1]})")
                provider_hit = True
            ring = t["provider"].get(provider)
            if ring is not None:
                _keep(hits, "provider", WEIGHTS[ring[0]], ring[1])
                provider_hit = True
            doctor = t["doctor"].get(col["doctor_id"][i])
            if doctor is not None:
                _keep(hits, "doctor", WEIGHTS[doctor[0]], doctor[1])
            for column, kind in HASHED_COLUMNS.items():
                value = col[column][i]
                if value is None or (column == "payee_account" and col["channel"][i] == "PROVIDER_DIRECT"):
                    continue
                table = _TABLE_OF.get(kind, "identifier")
                found = t[table].get(self._hashed(kind, value))
                if found is not None:
                    _keep(hits, "recruiter" if table == "identifier" else "patient", WEIGHTS[found[0]], found[1])
            if provider_hit and col["regime"][i] == "TADAMON":
                region, where = col["beneficiary_region"][i], col["provider_region"][i]
                far = region is not None and where is not None and region != where
                if far or family in _STAYS:
                    what = "from another region" if far else f"for {str(family).lower().replace('_', ' ')}"
                    _keep(hits, "profile", WEIGHTS["profile"], f"Tadamon patient {what} at a ring provider")
            limits = t["peer"].get((col["provider_type"][i], col["act_code"][i]))
            quantity, amount = col["quantity"][i], col["amount_claimed"][i]
            if limits is not None and quantity and amount is not None:
                unit = amount / quantity
                if unit > limits[0] or quantity > limits[1]:
                    _keep(hits, "peers", WEIGHTS["peer_line"],
                          f"{col['act_code'][i]} billed {quantity} x {unit:,.2f} MAD where "
                          f"{str(col['provider_type'][i]).lower()} peers bill at most {limits[1]:g} x "
                          f"{limits[0]:,.2f}")
            indicator = t["indicator"].get(provider)
            if indicator is not None:  # a provider-level reason: no more than its ring or watchlist entry
                _keep(hits, "provider", WEIGHTS[indicator[0]], indicator[1])

    def results(self) -> list[dict[str, Any]]:
        """One row per dossier seen, in order of first line: :data:`SCORE_COLUMNS`."""
        out = []
        for claim, hits in self.best.items():
            ordered = sorted(hits.items(), key=lambda kv: (-kv[1][0], _KIND_ORDER.index(kv[0])))
            score = round(sum(w for _, (w, _) in ordered), 2)
            out.append({"claim_id": claim, "level": level_of(score) if ordered else "none", "score": score,
                        "reasons": "; ".join(text for _, (_, text) in ordered), "lines": self.n_lines[claim]})
        return out


def level_of(score: float) -> str:
    """The level of a dossier with at least one reason and this score."""
    for name, floor in LEVELS:
        if score >= floor:
            return name
    return "low"


def _keep(hits: dict[str, tuple[float, str]], kind: str, weight: float, text: str) -> None:
    """Keep the heaviest reason of each kind; between equal weights the first text in sort order."""
    held = hits.get(kind)
    if held is None or weight > held[0] or (weight == held[0] and text < held[1]):
        hits[kind] = (weight, text)


def build_risk_index(
    run_id: str,
    *,
    rings: pd.DataFrame,
    members: pd.DataFrame,
    watchlist: pd.DataFrame,
    intermediaries: Any,
    lines: pd.DataFrame,
    indicator_scores: pd.DataFrame | None,
    hasher: Callable[[str, str], str],
    name_intermediary: Callable[[str], str] = str,
    indicator_floor: float = 8.0,
    peer_quantile: float = 0.995,
    peer_margin: float = 1.25,
    min_peer_lines: int = 30,
    authorised_share: float = 0.5,
) -> RiskIndex:
    """Build the lookup index of one run.

    Parameters
    ----------
    run_id : str
    rings, members : DataFrame
        The run's rings and members (findings contract).
    watchlist : DataFrame
        The run's watchlist *candidates* (:func:`detectors.watchlist.watchlist_candidates`)
        with ``since``: every ring's entries, so that a case dismissed later drops only its own.
    intermediaries : Intermediaries
        The run's inferred intermediaries (``links``, ``members``), or None.
    lines : DataFrame
        :func:`detectors.base.line_flags` of the run's window (peer limits).
    indicator_scores : DataFrame, optional
        The ``indicators`` detector's scores (``entity_type, entity_id, score, evidence``).
    hasher : callable
        :func:`identifier_hasher`; identifiers and beneficiaries are stored hashed only.
    name_intermediary : callable
        How reasons name an inferred intermediary (its pseudonym: the id is a hash of phones).
    indicator_floor : float
        Smallest indicator score (sum of the two largest capped z) that counts against a provider.
    peer_quantile, peer_margin : float
        A line is out of line above ``peer_margin`` times this quantile of its peers' amount
        per unit (or quantity) for the same provider type and act code.
    min_peer_lines : int
        Fewest peer lines for an act code to be judged at all.
    authorised_share : float
        An act family whose lines carry a prior authorisation at least this often is one
        where a watched provider's line without one weighs more.

    Returns
    -------
    RiskIndex
    """
    index = RiskIndex(run_id)
    t = index.tables
    rank = dict(zip(rings["ring_id"].astype(str), rings["rank"].astype(int)))
    scenario = dict(zip(rings["ring_id"].astype(str), rings.get("scenario", pd.Series("", index=rings.index))
                        .fillna("").astype(str)))
    ordered = members.assign(_rank=members["ring_id"].astype(str).map(rank)).sort_values(
        ["_rank", "entity_type", "entity_id"], kind="mergesort")

    def ring_text(ring_id: str) -> str:
        return f"ring {ring_id} ({scenario.get(ring_id, '').replace('_', ' ') or 'ring'}, rank {rank[ring_id]})"

    for row in ordered.itertuples(index=False):
        rid, etype, eid = str(row.ring_id), str(row.entity_type), str(row.entity_id)
        if etype == "PROVIDER" and eid not in t["provider"]:
            t["provider"][eid] = ("ring_provider", f"provider {eid} is the {row.role} of {ring_text(rid)}")
        elif etype == "DOCTOR" and eid not in t["doctor"]:
            t["doctor"][eid] = ("ring_doctor", f"doctor {eid} is a {row.role} of {ring_text(rid)}")
        elif etype == "BENEFICIARY":
            key = hasher("BENEFICIARY", eid)
            if key not in t["beneficiary"]:
                t["beneficiary"][key] = ("recruited_beneficiary",
                                         f"patient is a {row.role.replace('_', ' ')} of {ring_text(rid)}")
    for row in watchlist.sort_values(["ring_rank", "provider_id", "act_family"], kind="mergesort").itertuples(
            index=False):
        since = str(row.since or "") or "this run"
        t["watch"].setdefault((str(row.provider_id), str(row.act_family)), []).append(
            (str(row.ring_id), since, f"{str(row.act_family).lower().replace('_', ' ')} at watched provider "
                                      f"{row.provider_id} ({ring_text(str(row.ring_id))})", int(row.ring_rank)))
    if intermediaries is not None and len(intermediaries.links):
        _index_intermediaries(t, intermediaries, members, rank, hasher, name_intermediary, ring_text)
    if indicator_scores is not None and len(indicator_scores):
        strong = indicator_scores[(indicator_scores["entity_type"] == "PROVIDER")
                                  & (indicator_scores["score"] >= indicator_floor)]
        for row in strong.itertuples(index=False):
            t["indicator"][str(row.entity_id)] = ("peer_indicators",
                                                  f"provider {row.entity_id} stands out from its peers: {row.evidence}")
    t["peer"].update(_peer_limits(lines, peer_quantile, peer_margin, min_peer_lines))
    if len(lines) and "prior_auth_id" in lines:
        share = lines["prior_auth_id"].notna().groupby(lines["act_family"].astype(str)).mean()
        t["authorised"].update({str(f): round(float(v), 4) for f, v in share[share >= authorised_share].items()})
    return index


def _index_intermediaries(t: dict, found: Any, members: pd.DataFrame, rank: dict, hasher: Callable,
                          name: Callable[[str], str], ring_text: Callable[[str], str]) -> None:
    in_ring = (members.loc[members["entity_type"] == "INTERMEDIARY", ["entity_id", "ring_id"]].astype(str)
               .assign(_rank=lambda m: m["ring_id"].map(rank)).sort_values(["_rank", "entity_id"])
               .drop_duplicates("entity_id").set_index("entity_id")["ring_id"].to_dict())
    links = found.links.sort_values(["intermediary_id", "identifier_type", "identifier"], kind="mergesort")
    for row in links.itertuples(index=False):
        inter, kind = str(row.intermediary_id), str(row.identifier_type)
        ring = in_ring.get(inter)
        noun = {"PHONE": "phone", "ACCOUNT": "payee account", "REFERRER": "referrer",
                "SUBMISSION_POINT": "submission point"}[kind]
        if kind == "SUBMISSION_POINT":
            code = "recruiter_point"
        else:
            code = "recruiter_contact_ring" if ring else "recruiter_contact"
        text = f"{noun} used by inferred recruiter {name(inter)}" + (f" of {ring_text(ring)}" if ring else "")
        key = hasher(kind, str(row.identifier))
        held = t["identifier"].get(key)
        if held is None or WEIGHTS[code] > WEIGHTS[held[0]]:
            t["identifier"][key] = (code, text)
    recruited = found.members.sort_values(["intermediary_id", "household_id", "beneficiary_id"], kind="mergesort")
    for row in recruited.itertuples(index=False):
        inter = str(row.intermediary_id)
        ring = in_ring.get(inter)
        by = f"inferred recruiter {name(inter)}" + (f" of {ring_text(ring)}" if ring else "")
        key = hasher("BENEFICIARY", str(row.beneficiary_id))
        if key not in t["beneficiary"]:
            t["beneficiary"][key] = ("recruited_beneficiary", f"patient was recruited before by {by}")
        key = hasher("HOUSEHOLD", str(row.household_id))
        if key not in t["household"]:
            t["household"][key] = ("recruited_household", f"patient's household was recruited before by {by}")


def _peer_limits(lines: pd.DataFrame, quantile: float, margin: float, min_lines: int) -> dict:
    """(provider_type, act_code) -> (amount per unit limit, quantity limit)."""
    if lines.empty:
        return {}
    frame = pd.DataFrame({
        "provider_type": lines["provider_type"].astype(str).to_numpy(),
        "act_code": lines["act_code"].astype(str).to_numpy(),
        "unit": (lines["amount_claimed"].to_numpy(float) / np.maximum(lines["quantity"].to_numpy(float), 1.0)),
        "quantity": lines["quantity"].to_numpy(float),
    })
    groups = frame.groupby(["provider_type", "act_code"], sort=True)
    sizes = groups.size()
    limits = groups[["unit", "quantity"]].quantile(quantile)[sizes >= min_lines]
    return {(str(a), str(b)): (round(float(u) * margin, 2), float(np.ceil(q * margin)))
            for (a, b), u, q in zip(limits.index, limits["unit"], limits["quantity"])}
