"""The risk index of a run: built from findings, stored as rows, and scoring dossiers by lookups."""

from __future__ import annotations

import pytest

from detectors.base import line_flags
from detectors.dossier_risk import RiskIndex, build_risk_index, identifier_hasher
from detectors.config import DetectionConfig
from detectors.pipeline import detect
from detectors.watchlist import listed_entries, watchlist_candidates
from tests.conftest import RING_ACCOUNT, RING_PHONE, make_tiny_claims

KEY = b"test-key"

# A ring of eight patients is below the calibrated alert threshold: report every candidate ring.
EVERY_RING = DetectionConfig.from_mapping({"rings": {"alert_surprise": -1e9}})


@pytest.fixture(scope="module")
def index() -> RiskIndex:
    claims = make_tiny_claims()
    result = detect(claims, seed=42, config=EVERY_RING)
    lines = line_flags(claims).assign(prior_auth_id=claims["prior_auth_id"].to_numpy())
    candidates = watchlist_candidates(result.rings, result.members, lines)
    since = listed_entries(candidates, {}, run_id="run-1", listed_on="2025-04-01")
    watch = candidates.merge(since[["provider_id", "act_family", "since"]], how="left")
    indicators = next(f.scores for f in result.findings if f.detector == "indicators")
    return build_risk_index("run-1", rings=result.rings, members=result.members, watchlist=watch,
                            intermediaries=result.intermediaries, lines=lines, indicator_scores=indicators,
                            hasher=identifier_hasher(KEY))


def _columns(*lines: dict) -> dict[str, list]:
    names = sorted({k for line in lines for k in line})
    return {n: [line.get(n) for line in lines] for n in names}


RING = {"claim_id": "N1", "line_no": 1, "beneficiary_id": "NEW-B", "provider_id": "PRV-CLINIC-R",
        "provider_type": "CLINIC", "act_family": "SURGERY", "act_code": "K50", "doctor_id": "DOC-R",
        "quantity": 1, "amount_claimed": 6000.0, "regime": "TADAMON", "beneficiary_region": "08",
        "provider_region": "06", "contact_phone": RING_PHONE, "channel": "AGENCY"}
PLAIN = {"claim_id": "N2", "line_no": 1, "beneficiary_id": "OTHER", "provider_id": "PRV-DOC-B",
         "provider_type": "DOCTOR", "act_family": "CONSULTATION", "act_code": "C", "quantity": 1,
         "amount_claimed": 150.0, "regime": "SALARIES"}


def test_ring_dossier_is_high_and_a_plain_one_none(index):
    out = {r["claim_id"]: r for r in index.score(_columns(RING, PLAIN), identifier_hasher(KEY))}
    assert out["N1"]["level"] == "high" and out["N2"]["level"] == "none" and out["N2"]["reasons"] == ""
    assert "without the prior authorisation" in out["N1"]["reasons"]


def test_a_prior_authorisation_lowers_the_watchlist_reason(index):
    bare = index.score(_columns(RING), identifier_hasher(KEY))[0]
    authorised = index.score(_columns({**RING, "prior_auth_id": "PA-9"}), identifier_hasher(KEY))[0]
    assert authorised["score"] < bare["score"]


def test_stored_rows_hold_hashes_not_identifiers_and_rebuild_the_same_index(index):
    rows = index.rows()
    text = repr(rows)
    for personal in (RING_PHONE, RING_ACCOUNT, "BEN-R0"):
        assert personal not in text
    again = RiskIndex.from_rows("run-1", rows)
    columns = _columns(RING, PLAIN, {**RING, "claim_id": "N3", "contact_phone": None, "beneficiary_id": "BEN-R3"})
    assert again.score(columns, identifier_hasher(KEY)) == index.score(columns, identifier_hasher(KEY))


def test_another_key_finds_no_identifier(index):
    hit = index.score(_columns({**PLAIN, "contact_phone": RING_PHONE}), identifier_hasher(KEY))[0]
    miss = index.score(_columns({**PLAIN, "contact_phone": RING_PHONE}), identifier_hasher(b"other"))[0]
    assert "inferred recruiter" in hit["reasons"] and miss["level"] == "none"


def test_scores_do_not_depend_on_line_order(index):
    second = {**RING, "line_no": 2, "provider_id": "PRV-LAB-R", "provider_type": "LAB", "act_family": "BIOLOGY",
              "act_code": "B120", "amount_claimed": 480.0}
    forward = index.score(_columns(RING, second, PLAIN), identifier_hasher(KEY))
    backward = index.score(_columns(PLAIN, second, RING), identifier_hasher(KEY))
    assert sorted(forward, key=lambda r: r["claim_id"]) == sorted(backward, key=lambda r: r["claim_id"])


def test_a_dismissed_ring_stops_counting_on_the_watchlist(index):
    ring = index.tables["watch"][("PRV-CLINIC-R", "SURGERY")][0][0]
    open_ = index.score(_columns(RING), identifier_hasher(KEY))[0]
    closed = index.score(_columns(RING), identifier_hasher(KEY), closed_rings={ring})[0]
    assert "watched provider" in open_["reasons"] and "watched provider" not in closed["reasons"]
