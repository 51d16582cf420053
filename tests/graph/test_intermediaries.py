"""Inferred intermediaries: the planted ring is one, family phones and big points are none, ids are stable."""

from __future__ import annotations

import pandas as pd

from graph.intermediaries import infer_intermediaries, intermediary_id


def test_planted_ring_households_form_one_intermediary(tiny_claims, planted_ring):
    found = infer_intermediaries(tiny_claims, max_point_households=10)
    assert len(found.table) == 1
    row = found.table.iloc[0]
    assert (row["n_households"], row["n_beneficiaries"]) == (8, 8)
    assert set(found.members["beneficiary_id"]) == planted_ring["beneficiaries"]
    links = set(zip(found.links["identifier_type"], found.links["identifier"]))
    assert {("PHONE", planted_ring["phone"]), ("ACCOUNT", planted_ring["account"])} <= links


def test_family_phones_link_nothing(tiny_claims):
    found = infer_intermediaries(tiny_claims, types=("PHONE",))
    assert set(found.links["identifier"]) == {"PHONE-R"}


def test_a_point_above_the_popularity_cap_links_nothing(tiny_claims):
    capped = infer_intermediaries(tiny_claims, types=("SUBMISSION_POINT",), max_point_households=10,
                                  require_contact=False)
    assert set(capped.links["identifier"]) == {"POINT-SMALL-R"}
    uncapped = infer_intermediaries(tiny_claims, types=("SUBMISSION_POINT",), max_point_households=50,
                                    require_contact=False)
    assert set(uncapped.links["identifier"]) == {"POINT-SMALL-R", "POINT-BIG"}


def test_households_sharing_only_a_submission_point_are_not_an_intermediary(tiny_claims):
    found = infer_intermediaries(tiny_claims, max_point_households=50)
    assert "POINT-BIG" not in set(found.links["identifier"])
    assert infer_intermediaries(tiny_claims, types=("SUBMISSION_POINT",)).table.empty


def test_rarer_identifiers_weigh_more(tiny_claims):
    links = infer_intermediaries(tiny_claims, max_point_households=50, require_contact=False).links
    links = links.set_index("identifier")
    assert links.loc["PHONE-R", "weight"] > links.loc["POINT-BIG", "weight"] > 0


def test_provider_direct_accounts_link_no_households(tiny_claims):
    claims = tiny_claims.copy()
    claims["payee_account"] = pd.array(["RIB-CLINIC"] * len(claims), dtype="string")
    claims["channel"] = pd.array(["PROVIDER_DIRECT"] * len(claims), dtype="string")
    found = infer_intermediaries(claims, types=("ACCOUNT",))
    assert found.table.empty


def test_same_claims_in_any_order_give_the_same_intermediaries(tiny_claims):
    first = infer_intermediaries(tiny_claims)
    again = infer_intermediaries(tiny_claims)
    shuffled = infer_intermediaries(tiny_claims.sample(frac=1.0, random_state=7).reset_index(drop=True))
    for other in (again, shuffled):
        pd.testing.assert_frame_equal(first.table, other.table)
        pd.testing.assert_frame_equal(first.links, other.links)
        pd.testing.assert_frame_equal(first.members, other.members)


def test_id_is_a_hash_of_the_sorted_identifiers():
    assert intermediary_id([("PHONE", "A"), ("ACCOUNT", "B")]) == intermediary_id([("ACCOUNT", "B"), ("PHONE", "A")])
    assert intermediary_id([("PHONE", "A")]) != intermediary_id([("PHONE", "B")])
    assert intermediary_id([("PHONE", "A")]).startswith("INT-")


def test_evidence_counts_identifiers_without_writing_them(tiny_claims, planted_ring):
    evidence = infer_intermediaries(tiny_claims, max_point_households=10).table["evidence"].iloc[0]
    assert evidence.startswith("8 unrelated households share 1 phone, 1 payee account and 1 submission point")
    assert "8 of them Tadamon" in evidence and "PRV-CLINIC-R" in evidence
    assert planted_ring["phone"] not in evidence and planted_ring["account"] not in evidence


def test_households_below_the_minimum_make_no_intermediary(tiny_claims):
    assert infer_intermediaries(tiny_claims, min_households=9, max_point_households=10).table.empty
