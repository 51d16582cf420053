"""Evaluation metrics on hand-made cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from detectors.evaluate import average_precision, evaluate, match_rings, recall_at_k, roc_auc


def test_average_precision_by_hand():
    # ranks: + - + - : precision at the two positives 1/1 and 2/3
    assert average_precision([1, 0, 1, 0], [4, 3, 2, 1]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([0, 1], [2, 1]) == pytest.approx(0.5)
    # a tie of a positive and a negative is one threshold: precision 1/2 there
    assert average_precision([1, 0], [1, 1]) == pytest.approx(0.5)
    assert math.isnan(average_precision([0, 0], [1, 2]))


def test_roc_auc_by_hand():
    assert roc_auc([1, 0, 1, 0], [4, 3, 2, 1]) == pytest.approx(0.75)
    assert roc_auc([1, 1, 0], [3, 2, 1]) == pytest.approx(1.0)
    assert roc_auc([1, 0], [1, 1]) == pytest.approx(0.5)
    assert math.isnan(roc_auc([1, 1], [1, 2]))


def test_recall_at_k_by_hand():
    # two positives, k = 2: the top two hold one of them
    assert recall_at_k([1, 0, 1, 0], [4, 3, 2, 1]) == pytest.approx(0.5)
    assert recall_at_k([1, 1, 0], [3, 2, 1]) == pytest.approx(1.0)
    # a tie across the cut shares the one remaining place: one positive in a tie of two
    assert recall_at_k([1, 0, 0], [2, 1, 1], k=2) == pytest.approx(1.0)
    assert recall_at_k([0, 1, 0], [2, 1, 1], k=2) == pytest.approx(0.5)
    assert math.isnan(recall_at_k([0, 0], [1, 2]))


def test_matching_is_one_to_one_and_needs_half_overlap():
    planted = {"A": {"p1", "p2", "d1"}, "B": {"p3", "p4"}}
    flagged = [("f1", {"p1", "p2"}), ("f2", {"p1", "p2", "d1"}), ("f3", {"p3", "p9", "p8"})]
    out = match_rings(planted, flagged)
    assert out[0][:2] == ("f1", "A")
    assert out[1][:2] == ("f2", None)  # A already found: a duplicate is a false hit
    assert out[2][1] is None and out[2][2] == pytest.approx(0.25)


def _labels():
    rows = [("PROVIDER", "P1", "R1", "clinic"), ("DOCTOR", "D1", "R1", "surgeon"),
            ("BENEFICIARY", "B1", "R1", "recruited_patient"), ("BENEFICIARY", "B2", "R1", "recruited_patient"),
            ("PROVIDER", "P2", "R2", "pharmacy"), ("DOCTOR", "D2", "R2", "prescriber"),
            ("PROVIDER", "P9", "", "upcoder")]
    return pd.DataFrame([(*r, "s") for r in rows], columns=["entity_type", "entity_id", "ring_id", "role",
                                                           "scenario"])


def test_evaluate_by_hand():
    rings = pd.DataFrame({"ring_id": ["X", "Y", "Z"], "rank": [1, 2, 3]})
    members = pd.DataFrame([("X", "PROVIDER", "P1"), ("X", "DOCTOR", "D1"), ("X", "BENEFICIARY", "B1"),
                            ("Y", "PROVIDER", "P5"), ("Z", "PROVIDER", "P2"), ("Z", "DOCTOR", "D2"),
                            ("Z", "PROVIDER", "P6")], columns=["ring_id", "entity_type", "entity_id"])
    scores = pd.DataFrame({"entity_type": "PROVIDER", "entity_id": ["P1", "P5", "P2", "P6"],
                           "score": [4.0, 3.0, 2.0, 1.0]})
    report = evaluate(_labels(), {"rings": rings, "members": members, "entity_scores": scores},
                      universe=["P1", "P2", "P5", "P6", "P7", "P9"])
    assert report["n_planted"] == 2
    assert report["ring_recall"] == 1.0  # Z has Jaccard 2/3 with R2
    assert report["ring_precision"] == pytest.approx(2 / 3)
    assert report["ring_precision_at_n"] == pytest.approx(1 / 2)
    assert report["recruited_recall"] == pytest.approx(1 / 2)
    # providers ranked P1+ P5- P2+ P6- then P9+ P7- tied below: AUC by hand
    assert report["n_providers"] == 6 and report["n_positive_providers"] == 3
    assert report["provider_auc"] == pytest.approx((3 + 2 + 0.5) / 9)
    assert report["provider_ap"] == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    without = evaluate(_labels(), {"rings": rings, "members": members, "entity_scores": scores})
    assert without["n_providers"] == 5  # scored or labelled: P7 unknown
