"""Labels of the learned ranker: ring outcomes label the ring's members, the latest decision wins,
neighbours' outcomes never carry the entity's own ring."""

from __future__ import annotations

import pandas as pd

from detectors.features import ring_groups
from detectors.learned import enough_outcomes, entity_labels, neighbour_outcomes


def _outcomes(rows):
    return pd.DataFrame(rows, columns=["entity_type", "entity_id", "outcome", "decided_on", "source"])


MEMBERS = pd.DataFrame({
    "ring_id": ["R1", "R1", "R1", "R2", "R2"],
    "entity_type": ["PROVIDER", "DOCTOR", "BENEFICIARY", "PROVIDER", "INTERMEDIARY"],
    "entity_id": ["P1", "D1", "B1", "P2", "I1"],
})


def test_a_ring_outcome_labels_its_providers_doctors_and_intermediaries_only():
    y = entity_labels(_outcomes([("RING", "R1", "confirmed", "2025-01-01", "viewer"),
                                 ("RING", "R2", "dismissed", "2025-01-01", "viewer")]), MEMBERS)
    assert y.to_dict() == {"DOCTOR:D1": 1, "INTERMEDIARY:I1": 0, "PROVIDER:P1": 1, "PROVIDER:P2": 0}


def test_the_latest_decision_wins_and_a_referral_counts_as_fraud_found():
    y = entity_labels(_outcomes([("PROVIDER", "P1", "confirmed", "2025-01-01", "a"),
                                 ("PROVIDER", "P1", "dismissed", "2025-03-01", "b"),
                                 ("PROVIDER", "P2", "dismissed", "2025-01-01", "a"),
                                 ("PROVIDER", "P2", "referred", "2025-02-01", "b")]), MEMBERS)
    assert y.to_dict() == {"PROVIDER:P1": 0, "PROVIDER:P2": 1}


def test_neighbours_outcomes_skip_the_entitys_own_ring():
    keys = pd.Index(["PROVIDER:P1", "DOCTOR:D1", "PROVIDER:P2", "PROVIDER:P3"])
    edges = pd.DataFrame({"a": ["PROVIDER:P1", "PROVIDER:P1", "PROVIDER:P3"],
                          "b": ["DOCTOR:D1", "PROVIDER:P3", "PROVIDER:P2"], "weight": 1.0})
    groups = ring_groups(keys, MEMBERS)
    assert groups["PROVIDER:P1"] == groups["DOCTOR:D1"] != groups["PROVIDER:P3"]
    known = pd.Series({"DOCTOR:D1": 1, "PROVIDER:P1": 0, "PROVIDER:P3": 0, "PROVIDER:P2": 1})
    got = neighbour_outcomes(edges, keys, known, groups)
    assert got.loc["PROVIDER:P1"].to_dict() == {"neighbour_positive": 0.0, "neighbour_negative": 1.0}
    assert got.loc["PROVIDER:P3"].to_dict() == {"neighbour_positive": 1.0, "neighbour_negative": 1.0}


def test_too_few_outcomes_or_one_label_only_is_not_enough():
    assert enough_outcomes(pd.Series([1] * 40)) is not None
    assert enough_outcomes(pd.Series([1] * 10 + [0] * 10)) is not None
    assert enough_outcomes(pd.Series([1] * 10 + [0] * 25)) is None
