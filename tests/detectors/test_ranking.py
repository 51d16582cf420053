"""One calibrated ranking: an entity's best detector, corrected for the detectors looking, never dragged down."""

from __future__ import annotations

import numpy as np

from detectors.calibration import entity_ranking
from detectors.findings import Findings


def _findings(name: str, rows: list[tuple[str, float]]) -> Findings:
    return Findings(name, {}, [("PROVIDER", pid, score, f"{name} says {score}", 0.0) for pid, score in rows])


def test_a_provider_seen_by_one_detector_is_not_pulled_down_by_the_others():
    alone = [_findings("phantoms", [("P-ALONE", 4.0)]),
             _findings("indicators", [("P-OTHER", -3.0)])]
    seen_by_all = [_findings("phantoms", [("P-ALONE", 4.0)]),
                   _findings("indicators", [("P-ALONE", -3.0), ("P-OTHER", -3.0)])]
    a = entity_ranking(alone).set_index("entity_id")["score"]
    b = entity_ranking(seen_by_all).set_index("entity_id")["score"]
    assert a["P-ALONE"] == b["P-ALONE"]
    assert np.isclose(a["P-ALONE"], 4.0 - np.log10(2), atol=1e-6)
    assert entity_ranking(seen_by_all).iloc[0]["entity_id"] == "P-ALONE"


def test_the_score_is_the_best_detector_corrected_for_the_detectors_of_its_kind():
    ranking = entity_ranking([_findings("a", [("P1", 2.0), ("P2", -1.0)]), _findings("b", [("P1", 0.5)]),
                              _findings("c", [("P2", 3.0)])])
    score = ranking.set_index("entity_id")["score"]
    assert np.isclose(score["P1"], 2.0 - np.log10(3), atol=1e-6) and np.isclose(score["P2"], 3.0 - np.log10(3), atol=1e-6)
    assert list(ranking["entity_id"]) == ["P2", "P1"]
    top = ranking.set_index("entity_id")
    assert top.loc["P2", "top_detector"] == "c" and top.loc["P2", "n_detectors"] == 2
    assert top.loc["P2", "top_reason"] == "c says 3.0"


def test_the_unremarkable_keep_their_order_below_zero():
    ranking = entity_ranking([_findings("indicators", [("P1", -0.5), ("P2", -2.0), ("P3", -4.0)])])
    assert list(ranking["entity_id"]) == ["P1", "P2", "P3"]
    assert (ranking["score"] < 0).all()


def test_detectors_that_only_support_rings_do_not_rank_entities():
    findings = [_findings("communities", [("P-NEIGHBOUR", 6.0)]), _findings("indicators", [("P-NEIGHBOUR", -2.0),
                                                                                          ("P-ODD", 1.0)])]
    ranking = entity_ranking(findings, support_only={"communities"}).set_index("entity_id")
    assert ranking.index[0] == "P-ODD"
    # Nor do they count among the detectors an entity's surprise is corrected for.
    assert np.isclose(ranking.loc["P-ODD", "score"], 1.0) and ranking.loc["P-NEIGHBOUR", "top_detector"] == "indicators"
    assert entity_ranking(findings).iloc[0]["entity_id"] == "P-NEIGHBOUR"
