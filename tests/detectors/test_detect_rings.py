"""Rings are assembled by deterministic rules, with stable ids."""

from __future__ import annotations

import pandas as pd

from detectors.config import DetectionConfig
from detectors.pipeline import detect
from detectors.rings import MEMBER_COLUMNS, RING_COLUMNS, assemble_rings, ring_id
from tests.detectors.conftest import EVERY_RING


def test_each_planted_pattern_becomes_one_ring(pattern_result, planted_ring):
    rings, members = pattern_result.rings, pattern_result.members
    anchors = {rid: set(g.loc[g["entity_type"].isin(["PROVIDER", "DOCTOR"]), "entity_id"])
               for rid, g in members.groupby("ring_id")}
    assert planted_ring["providers"] | {planted_ring["doctor"]} in anchors.values()
    assert {"PRV-CLINIC-P", "DOC-P"} in anchors.values()
    assert {"PRV-PHARMA-X", "DOC-X"} in anchors.values()
    assert {"PRV-CLINIC-K1", "PRV-CLINIC-K2", "DOC-K1", "DOC-K2"} in anchors.values()
    assert {"PRV-LAB-M", "DOC-M"} in anchors.values()
    assert set(rings["scenario"]) == {"recruiter_funnel", "phantom_patients", "pharmacy_ring", "kickback_loop",
                                      "lab_mill"}
    funnel = rings.loc[rings["scenario"] == "recruiter_funnel", "ring_id"].iloc[0]
    fm = members[members["ring_id"] == funnel]
    assert set(fm.loc[fm["role"] == "recruited_patient", "entity_id"]) == planted_ring["beneficiaries"]
    assert (fm["role"] == "recruiter").sum() == 1
    assert fm.loc[fm["entity_id"] == planted_ring["doctor"], "role"].item() == "surgeon"
    assert fm.loc[fm["entity_id"] == "PRV-LAB-R", "role"].item() == "lab"


def test_rings_follow_the_contract(pattern_result):
    rings, members = pattern_result.rings, pattern_result.members
    assert list(rings.columns) == RING_COLUMNS and list(members.columns) == MEMBER_COLUMNS
    assert rings["rank"].tolist() == list(range(1, len(rings) + 1))
    assert rings["score"].is_monotonic_decreasing
    assert (rings["size"] == rings["ring_id"].map(members.groupby("ring_id").size())).all()
    assert (rings["amount_at_risk"] > 0).all()
    assert (members["evidence"].str.len() > 0).all() and (rings["summary"].str.len() > 0).all()
    assert set(members["ring_id"]) == set(rings["ring_id"])


def test_amount_at_risk_is_the_ring_suspicious_acts(pattern_result, tiny_claims):
    ring = pattern_result.rings.set_index("scenario").loc["recruiter_funnel"]
    ring_lines = tiny_claims[tiny_claims["beneficiary_id"].str.startswith("BEN-R")]
    assert ring["amount_at_risk"] == ring_lines["amount_claimed"].sum()


def test_same_rings_whatever_the_row_order_and_seed(pattern_claims, pattern_result):
    shuffled = pattern_claims.sample(frac=1.0, random_state=11).reset_index(drop=True)
    other = detect(shuffled, seed=99, config=DetectionConfig.from_mapping(EVERY_RING))
    cols = ["ring_id", "rank", "score", "size", "amount_at_risk", "scenario", "summary"]
    pd.testing.assert_frame_equal(other.rings[cols], pattern_result.rings[cols])
    pd.testing.assert_frame_equal(other.members, pattern_result.members)


def test_ring_id_depends_only_on_the_anchor_set():
    a = ring_id([("PROVIDER", "P1"), ("DOCTOR", "D1")])
    assert a == ring_id([("DOCTOR", "D1"), ("PROVIDER", "P1"), ("PROVIDER", "P1")])
    assert a != ring_id([("PROVIDER", "P1")]) and a.startswith("RING-")


def test_max_rings_keeps_the_best(pattern_claims, pattern_result):
    rings, _ = assemble_rings(pattern_result.findings, pattern_claims, max_rings=1)
    assert rings["ring_id"].tolist() == pattern_result.rings["ring_id"].head(1).tolist()


def test_no_findings_give_no_rings(tiny_claims):
    rings, members = assemble_rings([], tiny_claims)
    assert rings.empty and members.empty and list(rings.columns) == RING_COLUMNS


def test_ring_members_rank_first_in_entity_scores_with_their_ring_as_reason(pattern_result):
    scores = pattern_result.entity_scores
    assert set(scores["entity_type"]) <= {"PROVIDER", "DOCTOR", "INTERMEDIARY"}
    assert scores["score"].is_monotonic_decreasing
    lab = scores[scores["entity_id"] == "PRV-LAB-R"].iloc[0]
    members, rings = pattern_result.members, pattern_result.rings
    lab_ring = members.loc[members["entity_id"] == "PRV-LAB-R", "ring_id"].item()
    # One scale: a member ranks at least as high as its ring, and says so when the ring is its best reason.
    assert lab["score"] >= rings.set_index("ring_id").loc[lab_ring, "score"]
    quiet = scores[scores["top_reason"].str.startswith("member (")]
    assert len(quiet) and all(r.split()[4] in set(rings["ring_id"]) for r in quiet["top_reason"])
    anchored = members[members["entity_type"] != "BENEFICIARY"].merge(
        rings[["ring_id", "score"]].rename(columns={"score": "ring_score"}), on="ring_id")
    best_ring = anchored.groupby("entity_id")["ring_score"].max()
    own = scores.set_index("entity_id")["score"].reindex(best_ring.index)
    assert (own >= best_ring - 1e-6).all()
