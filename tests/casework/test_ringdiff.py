"""Week over week: what changed in a ring since the previous run."""

from __future__ import annotations

import pandas as pd

from casework.ringdiff import previous_run_id, ring_diff


def _members(*ids):
    return pd.DataFrame([{"entity_type": t, "entity_id": i, "role": r} for t, i, r in ids])


RING = {"ring_id": "RING-1", "amount_at_risk": 1500.0, "score": 6.0, "rank": 1}
ALERTS = pd.DataFrame([{"ring_id": "RING-1", "change": "grown", "detail": "2 new members", "alerted": 1},
                       {"ring_id": "RING-2", "change": "new", "detail": "other", "alerted": 1}])


def test_previous_run_is_the_finished_run_started_just_before():
    runs = pd.DataFrame({"run_id": ["w3", "w2b", "w2", "w1"], "status": ["ok", "failed", "ok", "ok"],
                         "started_at": ["2025-03-17", "2025-03-11", "2025-03-10", "2025-03-03"]})
    assert previous_run_id(runs, "w3") == "w2"
    assert previous_run_id(runs, "w2") == "w1"
    assert previous_run_id(runs, "w1") is None
    assert previous_run_id(runs, "nope") is None


def test_diff_lists_new_and_removed_members_amount_score_and_alerts():
    now = _members(("PROVIDER", "P1", "clinic"), ("BENEFICIARY", "B1", "recruited_patient"),
                   ("BENEFICIARY", "B3", "recruited_patient"))
    before = _members(("PROVIDER", "P1", "clinic"), ("BENEFICIARY", "B1", "recruited_patient"),
                      ("BENEFICIARY", "B2", "recruited_patient"))
    prev = {"ring_id": "RING-1", "amount_at_risk": 1000.0, "score": 4.5, "rank": 3}
    out = ring_diff(RING, now, prev, before, ALERTS, previous_run="w2")
    assert out["status"] == "seen before" and out["kept"] == 2
    assert out["new_members"] == [{"entity_type": "BENEFICIARY", "entity_id": "B3", "role": "recruited_patient"}]
    assert out["removed_members"] == [{"entity_type": "BENEFICIARY", "entity_id": "B2", "role": "recruited_patient"}]
    assert (out["amount_change"], out["amount_before"], out["score_change"], out["rank_before"]) == (500.0, 1000.0,
                                                                                                   1.5, 3)
    assert out["alerts"] == [{"change": "grown", "detail": "2 new members", "alerted": True}]


def test_diff_of_a_new_ring_and_of_the_first_run():
    now = _members(("PROVIDER", "P1", "clinic"), ("DOCTOR", "D1", "surgeon"))
    new = ring_diff(RING, now, None, None, ALERTS.iloc[:0], previous_run="w2")
    assert new["status"] == "new" and len(new["new_members"]) == 2 and new["amount_change"] is None
    first = ring_diff(RING, now, None, None, ALERTS, previous_run=None)
    assert first["status"] == "first run" and first["new_members"] == [] and len(first["alerts"]) == 1
