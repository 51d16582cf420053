"""What changed since the previous run: which rings are new, grown, unchanged or gone.

Pure functions over findings tables, so the rules can be read and tested alone.

The rules
---------
* A ring of this run is *the same ring* as an earlier one when their ring ids are
  equal, or else when their providers and doctors overlap with a Jaccard index of
  at least ``match_jaccard``; it then keeps the earlier ring id, so cases and
  alerts follow it from week to week.
* **new**: never seen before, or back after an absence (an unhandled ring that
  was not in the previous run). **grown**: it has members it did not have when last
  seen, or its amount at risk rose by at least ``growth`` (relative) *and*
  ``min_amount`` dirhams (absolute). **unchanged**: neither. **gone**: in the
  previous run, not in this one.
* Investigators are alerted on *new* and *grown* rings only; a ring whose case is
  already handled (confirmed, dismissed, referred) is alerted only when it grows.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["compare_with_history", "ANCHOR_TYPES", "HANDLED_STATUSES", "ALERT_COLUMNS"]

ANCHOR_TYPES = ("PROVIDER", "DOCTOR")
HANDLED_STATUSES = frozenset({"confirmed", "dismissed", "referred"})
ALERT_COLUMNS = ("ring_id", "change", "detail", "alerted", "rank", "score", "amount_at_risk", "summary")


def _member_sets(members: pd.DataFrame) -> dict[str, set[tuple[str, str]]]:
    return {
        str(ring): set(zip(group["entity_type"].astype(str), group["entity_id"].astype(str)))
        for ring, group in members.groupby("ring_id", sort=True)
    }


def _anchors(entities: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {e for e in entities if e[0] in ANCHOR_TYPES}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def compare_with_history(
    rings: pd.DataFrame,
    members: pd.DataFrame,
    history_rings: pd.DataFrame,
    history_members: pd.DataFrame,
    previous_ring_ids: set[str],
    *,
    case_status: Mapping[str, str] | None = None,
    growth: float = 0.25,
    min_amount: float = 5000.0,
    match_jaccard: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Match this run's rings to earlier ones and classify each change.

    Parameters
    ----------
    rings, members : DataFrame
        This run's rings and members (findings-contract columns).
    history_rings, history_members : DataFrame
        Each earlier ring as last seen (one row per ring id in ``history_rings``).
    previous_ring_ids : set of str
        Ring ids of the previous run, to tell *unchanged* from *gone*.
    case_status : mapping, optional
        Case status by ring id (rings without a case are absent).
    growth, min_amount : float
        The material-rise threshold on amount at risk.
    match_jaccard : float
        Overlap of providers and doctors above which a ring is an earlier one.

    Returns
    -------
    rings, members, alerts : DataFrame
        ``rings`` and ``members`` with ring ids carried over from history; ``alerts``
        has one row per current or gone ring, columns :data:`ALERT_COLUMNS`.
    """
    status_of = (case_status or {}).get
    current = _member_sets(members)
    past = _member_sets(history_members)
    past_amount = dict(zip(history_rings["ring_id"].astype(str), history_rings["amount_at_risk"].astype(float)))

    renames: dict[str, str] = {}
    taken: set[str] = set(str(r) for r in rings["ring_id"] if str(r) in past)
    for ring_id in rings.sort_values("rank")["ring_id"].astype(str):
        if ring_id in past:
            continue
        anchors = _anchors(current.get(ring_id, set()))
        best, best_j = None, match_jaccard
        for old_id in sorted(past):
            if old_id in taken:
                continue
            j = _jaccard(anchors, _anchors(past[old_id]))
            if j >= best_j and (best is None or j > best_j):
                best, best_j = old_id, j
        if best is not None:
            renames[ring_id] = best
            taken.add(best)

    rings = rings.assign(ring_id=rings["ring_id"].astype(str).replace(renames))
    members = members.assign(ring_id=members["ring_id"].astype(str).replace(renames))
    current = {renames.get(k, k): v for k, v in current.items()}

    rows = []
    for ring in rings.sort_values("rank").itertuples(index=False):
        ring_id = str(ring.ring_id)
        amount = float(ring.amount_at_risk)
        status = status_of(ring_id)
        if ring_id not in past:
            change, detail = "new", f"new ring of {int(ring.size)} members, {amount:,.0f} MAD at risk"
            alerted = status not in HANDLED_STATUSES
        else:
            added = current.get(ring_id, set()) - past[ring_id]
            before = past_amount.get(ring_id, 0.0)
            rise = amount - before
            material = rise >= min_amount and (before <= 0 or rise / before >= growth)
            if added or material:
                parts = []
                if added:
                    parts.append(f"{len(added)} new member(s)")
                if material:
                    parts.append(f"amount at risk {before:,.0f} -> {amount:,.0f} MAD")
                change, detail, alerted = "grown", "; ".join(parts), True
            elif ring_id not in previous_ring_ids and status not in HANDLED_STATUSES:
                change, detail, alerted = "new", "seen before, back after an absence", True
            else:
                change, detail, alerted = "unchanged", f"{amount:,.0f} MAD at risk (was {before:,.0f})", False
            if status:
                detail += f"; case {status}"
        rows.append((ring_id, change, detail, alerted, int(ring.rank), float(ring.score), amount, str(ring.summary)))
    present = set(rings["ring_id"].astype(str))
    for ring_id in sorted(previous_ring_ids - present):
        rows.append((ring_id, "gone", "not found this run", False, 0, 0.0, past_amount.get(ring_id, 0.0), ""))
    alerts = pd.DataFrame(rows, columns=list(ALERT_COLUMNS)).astype({"alerted": bool})
    return rings, members, alerts
