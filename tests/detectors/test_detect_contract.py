"""Every detector keeps the one contract."""

from __future__ import annotations

import os

import pytest

from detectors.base import build_context
from detectors.findings import Findings
from detectors.registry import DETECTOR_NAMES, all_detectors

DETECTORS = all_detectors(seed=3)


def test_registry_lists_every_detector_once():
    assert [d.name for d in DETECTORS] == list(DETECTOR_NAMES)


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.name)
def test_detector_keeps_the_contract(detector, pattern_claims, tmp_path, monkeypatch):
    params_before = detector.get_params()
    monkeypatch.chdir(tmp_path)
    context = build_context(pattern_claims)
    first = detector.fit(pattern_claims, context=context)
    again = type(detector)(**params_before).fit(pattern_claims, context=build_context(pattern_claims.sample(
        frac=1.0, random_state=1)))

    assert isinstance(first, Findings)
    assert first.detector == detector.name and isinstance(detector.name, str)
    assert detector.get_params() == params_before == dict(first.params)
    assert os.listdir(tmp_path) == []  # no file written
    scores = first.scores
    assert not scores.empty or not first.groups.empty or detector.name in ("centrality", "coefficients")
    assert scores["score"].is_monotonic_decreasing  # higher = more suspicious, best first
    assert not scores.duplicated(["entity_type", "entity_id"]).any()
    assert (scores["evidence"].astype(str).str.len() > 0).all()
    assert (first.groups["evidence"].astype(str).str.len() > 0).all()
    cols = ["entity_type", "entity_id", "score", "evidence"]
    assert first.scores[cols].round(9).equals(again.scores[cols].round(9))
    assert first.groups.sort_values(["group_id", "entity_id"]).reset_index(drop=True)[
        ["group_id", "entity_type", "entity_id", "role"]].equals(
        again.groups.sort_values(["group_id", "entity_id"]).reset_index(drop=True)[
            ["group_id", "entity_type", "entity_id", "role"]])


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.name)
def test_fit_builds_its_own_context_when_none_is_given(detector, tiny_claims):
    assert isinstance(detector.fit(tiny_claims), Findings)


def test_findings_keep_each_entity_once_at_its_highest_score_best_first():
    found = Findings("demo", {}, scores=[
        ("DOCTOR", "D1", 1.0, "low", 0.0),
        ("PROVIDER", "P1", 2.0, "first of two equal", 10.0),
        ("DOCTOR", "D1", 3.0, "high", 0.0),
        ("PROVIDER", "P1", 2.0, "second of two equal", 20.0),
        ("PROVIDER", "P0", 2.0, "same score, smaller id", 5.0),
    ], groups=[("g1", "PROVIDER", "P1", "member", 2.0, "in g1")])
    assert list(found.scores.columns) == ["entity_type", "entity_id", "score", "evidence", "amount_at_risk"]
    assert found.scores[["entity_id", "evidence"]].values.tolist() == [
        ["D1", "high"], ["P0", "same score, smaller id"], ["P1", "first of two equal"]]
    assert found.groups.to_dict("records") == [{"group_id": "g1", "entity_type": "PROVIDER", "entity_id": "P1",
                                               "role": "member", "score": 2.0, "evidence": "in g1"}]


def test_findings_without_rows_have_typed_empty_frames():
    found = Findings("demo", {})
    assert found.scores.empty and found.groups.empty
    assert str(found.scores["score"].dtype) == "float64" and list(found.groups.columns)[0] == "group_id"


def test_a_score_without_evidence_is_refused():
    with pytest.raises(ValueError, match="evidence"):
        Findings("demo", {}, scores=[("PROVIDER", "P1", 1.0, " ", 0.0)])
