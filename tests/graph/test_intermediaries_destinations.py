"""Splitting by destination: two recruiters tied by the households both brought, but taking
their people to two clinics, are two intermediaries; one recruiter's clinic trips are not split."""

from __future__ import annotations

import pandas as pd

from graph.intermediaries import infer_intermediaries


def _dossier(household: str, phone: str, account: str, clinic: str) -> list[dict]:
    """A consultation at ``clinic`` followed by a surgery there, on one dossier."""
    base = {"claim_id": f"C-{household}-{phone}", "beneficiary_id": household, "household_id": household,
            "contact_phone": phone, "payee_account": account, "referrer_id": None,
            "submission_point_id": None, "channel": "PROXIMITY_POINT", "provider_id": clinic,
            "provider_type": "CLINIC", "amount_claimed": 4000.0, "regime": "TADAMON"}
    return [{**base, "line_no": 1, "act_family": "CONSULTATION"}, {**base, "line_no": 2, "act_family": "SURGERY"}]


def _recruiters_tied_by(n_bridges: int, second_clinic: str = "CLINIC-B") -> pd.DataFrame:
    """Recruiters A and B each rotate two phones over eight households and write one account;
    ``n_bridges`` households were brought by both, once to each one's clinic."""
    rows = []
    for name, clinic in (("A", "CLINIC-A"), ("B", second_clinic)):
        for i in range(8):
            rows += _dossier(f"{name}{i}", f"PHONE-{name}{i // 4}", f"RIB-{name}", clinic)
    for i in range(n_bridges):
        rows += _dossier(f"X{i}", "PHONE-A0", "RIB-A", "CLINIC-A")
        rows += _dossier(f"X{i}", "PHONE-B0", "RIB-B", second_clinic)
    claims = pd.DataFrame(rows)
    for column in claims.columns.drop(["amount_claimed", "line_no"]):
        claims[column] = claims[column].astype("string")
    return claims


def _groups(found) -> list[set[str]]:
    return sorted(({h for h in g["household_id"] if not h.startswith("X")}
                   for _, g in found.members.groupby("intermediary_id")), key=sorted)


def test_shared_households_merge_two_recruiters_without_the_split():
    found = infer_intermediaries(_recruiters_tied_by(2), split_destinations=False)
    assert len(found.table) == 1


def test_two_recruiters_taking_people_to_two_clinics_are_two_intermediaries():
    found = infer_intermediaries(_recruiters_tied_by(2))
    assert _groups(found) == [{f"A{i}" for i in range(8)}, {f"B{i}" for i in range(8)}]
    assert sorted(found.table["top_provider_id"]) == ["CLINIC-A", "CLINIC-B"]
    assert all(e.startswith(("8 ", "9 ", "10 ")) for e in found.table["evidence"])


def test_one_clinic_is_one_intermediary_whatever_the_identifiers():
    found = infer_intermediaries(_recruiters_tied_by(2, second_clinic="CLINIC-A"))
    assert len(found.table) == 1


def test_a_wide_bridge_between_cohorts_is_not_split():
    found = infer_intermediaries(_recruiters_tied_by(4))
    assert len(found.table) == 1


def test_split_ignores_row_order():
    claims = _recruiters_tied_by(2)
    first = infer_intermediaries(claims)
    shuffled = infer_intermediaries(claims.sample(frac=1.0, random_state=5).reset_index(drop=True))
    pd.testing.assert_frame_equal(first.table, shuffled.table)
    pd.testing.assert_frame_equal(first.links, shuffled.links)
    pd.testing.assert_frame_equal(first.members, shuffled.members)
