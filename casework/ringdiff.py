"""What changed in a ring since the previous run: members in and out, amount, score, alerts.

A pure function of two stored runs' rows, so it can run at view time or be materialised
when a run is stored.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["previous_run_id", "ring_diff"]


def previous_run_id(runs: pd.DataFrame, run_id: str) -> str | None:
    """The run stored just before ``run_id`` (finished, by start time), or None for the first.

    Parameters
    ----------
    runs : DataFrame
        :meth:`casework.runs.RunStore.runs` (run_id, started_at, status).
    run_id : str
    """
    if runs.empty or run_id not in set(runs["run_id"]):
        return None
    done = runs[(runs["status"] == "ok") | (runs["run_id"] == run_id)].sort_values(
        ["started_at", "run_id"], kind="mergesort").reset_index(drop=True)
    at = int(done.index[done["run_id"] == run_id][0])
    return None if at == 0 else str(done.loc[at - 1, "run_id"])


def ring_diff(ring: dict[str, Any], members: pd.DataFrame, previous: dict[str, Any] | None,
              previous_members: pd.DataFrame | None, alerts: pd.DataFrame, *,
              previous_run: str | None) -> dict[str, Any]:
    """The week-over-week panel's data for one ring.

    Parameters
    ----------
    ring : dict
        This run's ring row (amount_at_risk, score, rank).
    members : DataFrame
        Its members (entity_type, entity_id, role).
    previous : dict or None
        The same ring in the previous run, None when it was not found then.
    previous_members : DataFrame or None
        Its members in the previous run.
    alerts : DataFrame
        This run's alerts (ring_id, change, detail, alerted).
    previous_run : str or None
        The previous run's id (None: this is the first run).

    Returns
    -------
    dict
        previous_run, status (``first run``, ``new``, ``seen before``), new_members and
        removed_members (lists of {entity_type, entity_id, role}), kept (count),
        amount (now), amount_before, amount_change, score_before, score_change,
        rank_before, alerts (this ring's alerts of this run: {change, detail, alerted}).
    """
    key = ["entity_type", "entity_id"]
    now = members[key + ["role"]].astype(str)
    own_alerts = alerts[alerts["ring_id"] == ring["ring_id"]] if len(alerts) else alerts
    out: dict[str, Any] = {
        "previous_run": previous_run, "amount": float(ring["amount_at_risk"]),
        "alerts": [{"change": str(a.change), "detail": str(a.detail), "alerted": bool(a.alerted)}
                   for a in own_alerts.itertuples(index=False)],
        "amount_before": None, "amount_change": None, "score_before": None, "score_change": None,
        "rank_before": None, "kept": 0,
    }
    if previous_run is None:
        return {**out, "status": "first run", "new_members": [], "removed_members": []}
    if previous is None:
        return {**out, "status": "new", "new_members": now.to_dict("records"), "removed_members": []}
    before = (previous_members if previous_members is not None else pd.DataFrame(columns=key + ["role"]))
    before = before[key + ["role"]].astype(str)
    joined = now.merge(before[key], on=key, how="left", indicator=True)
    gone = before.merge(now[key], on=key, how="left", indicator=True)
    amount_before = float(previous["amount_at_risk"])
    return {**out, "status": "seen before",
            "new_members": joined[joined["_merge"] == "left_only"][key + ["role"]].to_dict("records"),
            "removed_members": gone[gone["_merge"] == "left_only"][key + ["role"]].to_dict("records"),
            "kept": int((joined["_merge"] == "both").sum()),
            "amount_before": amount_before, "amount_change": round(out["amount"] - amount_before, 2),
            "score_before": float(previous["score"]),
            "score_change": round(float(ring["score"]) - float(previous["score"]), 6),
            "rank_before": int(previous["rank"])}
