"""Grouping of inferred intermediaries: rotated identifiers stay together, one
doubly-recruited household does not merge two recruiters, and row order changes nothing."""

from __future__ import annotations

import pandas as pd

from graph.intermediaries import infer_intermediaries


def _dossier(household: str, phone: str, account: str) -> dict:
    return {"claim_id": f"C-{household}-{phone}", "beneficiary_id": household, "household_id": household,
            "contact_phone": phone, "payee_account": account, "referrer_id": None,
            "submission_point_id": None, "channel": "PROXIMITY_POINT", "provider_id": "CLINIC",
            "amount_claimed": 100.0, "regime": "TADAMON"}


def _two_recruiters_sharing_one_household() -> pd.DataFrame:
    """Recruiters A and B each rotate two phones over six households and write one account on
    all of them; household X was brought once by each."""
    rows = []
    for name in ("A", "B"):
        for i in range(6):
            rows.append(_dossier(f"{name}{i}", f"PHONE-{name}{i // 3}", f"RIB-{name}"))
    rows.append(_dossier("X", "PHONE-A0", "RIB-A"))
    rows.append(_dossier("X", "PHONE-B0", "RIB-B"))
    claims = pd.DataFrame(rows)
    for column in claims.columns.drop("amount_claimed"):
        claims[column] = claims[column].astype("string")
    return claims


def _groups(found) -> set[frozenset]:
    return {frozenset(g["household_id"]) for _, g in found.members.groupby("intermediary_id")}


def test_rotated_phones_of_one_recruiter_form_one_intermediary():
    found = infer_intermediaries(_two_recruiters_sharing_one_household())
    for name in ("A", "B"):
        phones = {f"PHONE-{name}0", f"PHONE-{name}1"}
        holders = set(found.links.loc[found.links["identifier"].isin(phones), "intermediary_id"])
        assert len(holders) == 1


def test_one_household_recruited_twice_does_not_merge_two_recruiters():
    found = infer_intermediaries(_two_recruiters_sharing_one_household())
    a, b = {f"A{i}" for i in range(6)}, {f"B{i}" for i in range(6)}
    assert _groups(found) in ({frozenset(a | {"X"}), frozenset(b)}, {frozenset(a), frozenset(b | {"X"})})


def test_a_single_shared_household_merges_when_one_is_enough():
    found = infer_intermediaries(_two_recruiters_sharing_one_household(), min_shared=1)
    assert len(found.table) == 1


def test_grouping_ignores_row_order():
    claims = _two_recruiters_sharing_one_household()
    first = infer_intermediaries(claims)
    shuffled = infer_intermediaries(claims.sample(frac=1.0, random_state=3).reset_index(drop=True))
    pd.testing.assert_frame_equal(first.table, shuffled.table)
    pd.testing.assert_frame_equal(first.members, shuffled.members)
