import pandas as pd

from shabaka.changes import compare_with_history


def _rings(*rows):
    return pd.DataFrame(rows, columns=["ring_id", "rank", "score", "size", "amount_at_risk", "summary"])


def _members(spec):
    rows = [(ring, etype, eid, "x", 1.0, "because") for ring, ents in spec.items() for etype, eid in ents]
    return pd.DataFrame(rows, columns=["ring_id", "entity_type", "entity_id", "role", "score", "evidence"])


A = [("PROVIDER", "P1"), ("DOCTOR", "D1"), ("BENEFICIARY", "B1")]


def _compare(cur_rings, cur_members, hist_rings, hist_members, previous, **kw):
    return compare_with_history(cur_rings, cur_members, hist_rings, hist_members, previous, **kw)


def test_first_sighting_is_new_and_alerted():
    rings, members, alerts = _compare(_rings(("R1", 1, 5.0, 3, 10000.0, "s")), _members({"R1": A}),
                                      _rings(), _members({}), set())
    assert alerts.set_index("ring_id").loc["R1", "change"] == "new"
    assert bool(alerts.set_index("ring_id").loc["R1", "alerted"])


def test_same_ring_again_is_unchanged_and_not_alerted():
    _, _, alerts = _compare(_rings(("R1", 1, 5.0, 3, 10500.0, "s")), _members({"R1": A}),
                            _rings(("R1", 1, 5.0, 3, 10000.0, "s")), _members({"R1": A}), {"R1"})
    row = alerts.set_index("ring_id").loc["R1"]
    assert row["change"] == "unchanged" and not row["alerted"]


def test_a_new_member_makes_it_grown():
    _, _, alerts = _compare(_rings(("R1", 1, 5.0, 4, 10000.0, "s")), _members({"R1": A + [("BENEFICIARY", "B2")]}),
                            _rings(("R1", 1, 5.0, 3, 10000.0, "s")), _members({"R1": A}), {"R1"})
    assert alerts.set_index("ring_id").loc["R1", "change"] == "grown"


def test_amount_rise_must_be_material_in_both_relative_and_absolute_terms():
    hist = (_rings(("R1", 1, 5.0, 3, 10000.0, "s")), _members({"R1": A}))
    small = _compare(_rings(("R1", 1, 5.0, 3, 14000.0, "s")), _members({"R1": A}), *hist, {"R1"})[2]
    big = _compare(_rings(("R1", 1, 5.0, 3, 16000.0, "s")), _members({"R1": A}), *hist, {"R1"})[2]
    assert small.loc[0, "change"] == "unchanged"
    assert big.loc[0, "change"] == "grown"


def test_ring_with_a_new_id_but_same_providers_keeps_its_old_id():
    rings, members, alerts = _compare(
        _rings(("RNEW", 1, 5.0, 3, 10000.0, "s")), _members({"RNEW": A[:2] + [("BENEFICIARY", "B9")]}),
        _rings(("ROLD", 1, 5.0, 3, 10000.0, "s")), _members({"ROLD": A}), {"ROLD"})
    assert list(rings["ring_id"]) == ["ROLD"] and set(members["ring_id"]) == {"ROLD"}
    assert alerts.loc[0, "change"] == "grown"  # B9 joined


def test_ring_missing_this_run_is_gone_and_not_alerted():
    _, _, alerts = _compare(_rings(), _members({}), _rings(("R1", 1, 5.0, 3, 1.0, "s")), _members({"R1": A}), {"R1"})
    assert alerts.loc[0, "change"] == "gone" and not alerts.loc[0, "alerted"]


def test_handled_ring_is_alerted_only_when_it_grows():
    status = {"R1": "dismissed"}
    hist = (_rings(("R1", 1, 5.0, 3, 10000.0, "s")), _members({"R1": A}))
    back = _compare(_rings(("R1", 1, 5.0, 3, 10000.0, "s")), _members({"R1": A}), *hist, set(), case_status=status)[2]
    grown = _compare(_rings(("R1", 1, 5.0, 4, 10000.0, "s")), _members({"R1": A + [("PROVIDER", "P2")]}), *hist,
                     set(), case_status=status)[2]
    assert not back.loc[0, "alerted"]
    unhandled = _compare(_rings(("R1", 1, 5.0, 3, 10000.0, "s")), _members({"R1": A}), *hist, set())[2]
    assert unhandled.loc[0, "change"] == "new" and unhandled.loc[0, "alerted"]
    assert grown.loc[0, "alerted"] and "dismissed" in grown.loc[0, "detail"]
