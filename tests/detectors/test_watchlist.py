"""The prior-authorisation watchlist: who is listed, and when an entry leaves or keeps its date."""

from __future__ import annotations

import pandas as pd
import pytest

from detectors.base import line_flags
from detectors.config import DetectionConfig
from detectors.pipeline import detect
from detectors.watchlist import WATCHLIST_COLUMNS, listed_entries, watchlist_candidates

# A ring of eight patients is below the calibrated alert threshold: report every candidate ring.
EVERY_RING = DetectionConfig.from_mapping({"rings": {"alert_surprise": -1e9}})


@pytest.fixture(scope="module")
def found():
    from tests.conftest import make_tiny_claims

    claims = make_tiny_claims()
    result = detect(claims, seed=42, config=EVERY_RING)
    return result, line_flags(claims)


def test_ring_clinic_surgery_and_lab_biology_are_candidates(found, planted_ring):
    result, lines = found
    candidates = watchlist_candidates(result.rings, result.members, lines)
    pairs = set(zip(candidates["provider_id"], candidates["act_family"]))
    assert ("PRV-CLINIC-R", "SURGERY") in pairs
    members = set(result.members.loc[result.members["entity_type"] == "PROVIDER", "entity_id"])
    assert {p for p, _ in pairs} <= members & planted_ring["providers"], "only ring providers are listed"
    clinic = candidates[(candidates["provider_id"] == "PRV-CLINIC-R") & (candidates["act_family"] == "SURGERY")]
    assert clinic["amount_at_risk"].iloc[0] == pytest.approx(8 * 6000.0)
    assert clinic["n_dossiers"].iloc[0] == 8
    assert clinic["reason"].iloc[0].startswith("surgery billed for ring ")


def test_listed_entry_starts_now_then_keeps_its_since(found):
    result, lines = found
    candidates = watchlist_candidates(result.rings, result.members, lines)
    first = listed_entries(candidates, {}, run_id="run-1", listed_on="2025-04-01")
    assert list(first.columns) == WATCHLIST_COLUMNS
    assert set(first["since_run"]) == {"run-1"}
    second = listed_entries(candidates, {}, previous=first, run_id="run-2", listed_on="2025-04-08")
    assert set(second["since_run"]) == {"run-1"} and set(second["since"]) == {"2025-04-01"}


def test_dismissed_case_takes_the_ring_off_and_a_new_listing_starts_over(found):
    result, lines = found
    candidates = watchlist_candidates(result.rings, result.members, lines)
    ring = candidates["ring_id"].iloc[0]
    first = listed_entries(candidates, {}, run_id="run-1", listed_on="2025-04-01")
    dismissed = listed_entries(candidates, {ring: "dismissed"}, previous=first, run_id="run-2",
                               listed_on="2025-04-08")
    assert ring not in set(dismissed["ring_id"])
    confirmed = listed_entries(candidates, {ring: "confirmed"}, previous=dismissed, run_id="run-3",
                               listed_on="2025-04-15")
    assert ring in set(confirmed["ring_id"])
    assert set(confirmed.loc[confirmed["ring_id"] == ring, "since_run"]) == {"run-3"}


def test_entry_falls_back_to_the_next_ring_when_the_best_is_dismissed():
    candidates = pd.DataFrame([
        {"provider_id": "P", "provider_type": "CLINIC", "act_family": "SURGERY", "ring_id": "RING-A",
         "ring_rank": 1, "scenario": "phantom_patients", "amount_at_risk": 9000.0, "n_dossiers": 3, "reason": "a"},
        {"provider_id": "P", "provider_type": "CLINIC", "act_family": "SURGERY", "ring_id": "RING-B",
         "ring_rank": 4, "scenario": "kickback_loop", "amount_at_risk": 5000.0, "n_dossiers": 2, "reason": "b"},
    ])
    assert listed_entries(candidates, {})["ring_id"].tolist() == ["RING-A"]
    assert listed_entries(candidates, {"RING-A": "dismissed"})["ring_id"].tolist() == ["RING-B"]
    assert listed_entries(candidates, {"RING-A": "dismissed", "RING-B": "dismissed"}).empty


def test_evidence_gone_leaves_nothing_listed(found):
    result, lines = found
    empty_members = result.members.iloc[0:0]
    assert watchlist_candidates(result.rings.iloc[0:0], empty_members, lines).empty
    quiet = lines[~lines["provider_id"].isin(["PRV-CLINIC-R", "PRV-LAB-R"])]
    assert watchlist_candidates(result.rings, result.members, quiet).empty


def test_small_families_stay_off_the_list(found):
    result, lines = found
    candidates = watchlist_candidates(result.rings, result.members, lines, min_amount=10_000.0)
    assert set(candidates["act_family"]) == {"SURGERY"}
