"""The evidence detectors compare with: patient and provider fields read across lines, robust peer
rates, discrete multiplicity, far arrivals, and dense cores as support only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.base import line_flags
from detectors.calibration import count_surprise
from detectors.config import DetectionConfig
from detectors.findings import Findings
from detectors.funnels import far_arrivals
from detectors.phantoms import phantom_patients, robust_rate
from detectors.rings import assemble_rings
from tests.detectors.conftest import _row


def _frame(rows):
    frame = pd.DataFrame(rows)
    frame["service_date"] = pd.to_datetime(frame["service_date"])
    frame["submission_date"] = pd.to_datetime(frame["submission_date"])
    return frame


def test_a_pharmacy_that_leaves_the_ald_flag_and_regions_empty_is_read_through_the_patients_other_lines():
    rows = [_row("C1", 1, "B1", "GP1", "DOCTOR", "CONSULTATION", "C", 100, "2025-03-01", ald=False, region="03",
                 pregion="03"),
            _row("C2", 1, "B1", "PH1", "PHARMACY", "MEDICATION", "MEDALD", 900, "2025-03-02", ald=None, region=None,
                 pregion=None)]
    rows += [_row(f"A{i}", 1, f"ALD{i}", "PH2", "PHARMACY", "MEDICATION", "MEDALD", 900, "2025-03-03", ald=True,
                  region="03", pregion="03") for i in range(5)]
    # Most of the insured have no ALD (chronic care is an act of ALD patients more often than of anyone).
    rows += [_row(f"O{i}", 1, f"OTH{i}", "GP1", "DOCTOR", "CONSULTATION", "C", 100, "2025-03-04", ald=False,
                  region="03", pregion="03") for i in range(20)]
    lines = line_flags(_frame(rows))
    at_ph1 = lines[lines["provider_id"] == "PH1"].iloc[0]
    assert at_ph1["beneficiary_region"] == "03" and at_ph1["provider_region"] == "03"
    assert bool(at_ph1["non_ald_ald_drug"]) and not bool(at_ph1["far"])


def test_a_consultation_billed_by_the_operating_surgeons_practice_does_not_make_a_phantom_seen_elsewhere():
    surgery = dict(regime="TADAMON", region="09", pregion="03", doctor="SURG", birth=1935)
    rows = [_row("C1", 1, "P1", "SURG", "DOCTOR", "CONSULTATION", "C", 200, "2025-03-01", **surgery),
            _row("C2", 1, "P1", "CLIN", "CLINIC", "SURGERY", "K100", 9000, "2025-03-10", **surgery),
            _row("C3", 1, "P2", "GP9", "DOCTOR", "CONSULTATION", "C", 100, "2025-03-01", **(surgery | {"doctor": "GP9"})),
            _row("C4", 1, "P2", "CLIN", "CLINIC", "SURGERY", "K100", 9000, "2025-03-10", **surgery)]
    per = phantom_patients(line_flags(_frame(rows))).set_index("beneficiary_id")
    assert bool(per.loc["P1", "phantom"]) and per.loc["P1", "provider_id"] == "CLIN"
    assert not bool(per.loc["P2", "phantom"])  # seen by another doctor, in another practice


def test_patients_screened_together_by_the_operating_surgeon_are_not_phantoms_but_one_consulted_alone_is():
    far = dict(regime="TADAMON", region="09", pregion="03", doctor="SURG", birth=1935)
    rows = []
    # Twelve villagers of region 09 screened by the surgeon on one day, six of them operated ten days later.
    for i in range(12):
        rows.append(_row(f"S{i}", 1, f"V{i}", "SURG", "DOCTOR", "CONSULTATION", "CS", 200, "2025-03-01", **far))
        if i < 6:
            rows.append(_row(f"O{i}", 1, f"V{i}", "CLIN", "CLINIC", "SURGERY", "K70", 7000, "2025-03-11", **far))
    # A patient whose only consultation, by the same surgeon, was written alone on its own day.
    rows += [_row("S99", 1, "P1", "SURG", "DOCTOR", "CONSULTATION", "CS", 200, "2025-03-05", **far),
             _row("O99", 1, "P1", "CLIN", "CLINIC", "SURGERY", "K70", 7000, "2025-03-12", **far)]
    lines = line_flags(_frame(rows))
    per = phantom_patients(lines, screening_cohort=10).set_index("beneficiary_id")
    assert not per.loc[[f"V{i}" for i in range(6)], "phantom"].any()
    assert per.loc[[f"V{i}" for i in range(6)], "screened"].all()
    assert bool(per.loc["P1", "phantom"]) and not bool(per.loc["P1", "screened"])
    # Without the screening rule, the villagers read as phantoms too.
    assert phantom_patients(lines, screening_cohort=0).set_index("beneficiary_id").loc["V0", "phantom"]


def test_a_patient_whose_home_region_is_written_nowhere_counts_as_far_for_phantoms():
    old = dict(regime="TADAMON", doctor="SURG", birth=1935)
    rows = [_row("C1", 1, "P1", "CLIN", "CLINIC", "SURGERY", "K100", 9000, "2025-03-10", region=None, pregion="03",
                 **old),
            _row("C2", 1, "P2", "CLIN", "CLINIC", "SURGERY", "K100", 9000, "2025-03-10", region="03", pregion="03",
                 **old)]
    per = phantom_patients(line_flags(_frame(rows))).set_index("beneficiary_id")
    assert bool(per.loc["P1", "phantom"])
    assert not bool(per.loc["P2", "phantom"])  # known to live in the clinic's region


def test_the_peer_rate_leaves_out_the_providers_that_are_outliers_at_it():
    k = np.array([12, 0, 1, 0, 1, 0, 0, 1, 0, 0])
    n = np.array([20, 60, 80, 50, 70, 40, 60, 90, 50, 40])
    rate = robust_rate(k, n)
    assert rate < 0.01 < (k.sum() / n.sum())


def test_a_count_among_pairs_expected_near_zero_is_corrected_for_far_less_than_their_number():
    among = np.r_[np.full(5000, 0.001), 0.5]
    corrected = float(count_surprise(8, 0.5, dispersion=2.0, among=among))
    bonferroni = float(count_surprise(8, 0.5, dispersion=2.0, n_tested=len(among)))
    alone = float(count_surprise(8, 0.5, dispersion=2.0))
    assert bonferroni < corrected <= alone


def test_far_arrivals_count_patients_from_other_regions_against_how_their_region_chooses():
    rows = [_row(f"R{i}", 1, f"H{i}", "CLIN", "CLINIC", "SURGERY", "K100", 9000, "2025-03-10", region="09",
                 pregion="03") for i in range(6)]
    rows += [_row(f"O{i}", 1, f"N{i}", f"GP{i % 3}", "DOCTOR", "CONSULTATION", "C", 100, "2025-03-01", region="09",
                  pregion="09") for i in range(200)]
    rows += [_row("V1", 1, "V1", "CLIN", "CLINIC", "SURGERY", "K100", 9000, "2025-03-10", region="03", pregion="03")]
    members = pd.DataFrame({"intermediary_id": "INT-1", "beneficiary_id": [f"H{i}" for i in range(6)] + ["V1"]})
    dest = pd.DataFrame({"intermediary_id": ["INT-1"], "entity_type": ["PROVIDER"], "entity_id": ["CLIN"],
                         "share": [1.0], "amount": [1.0]})
    out = far_arrivals(line_flags(_frame(rows)), members, dest).iloc[0]
    assert out["arrived"] == 6  # V1 lives in the clinic's region: no arrival
    assert out["expected"] < 0.1


def _findings(detector, groups):
    rows = pd.DataFrame(groups, columns=["group_id", "entity_type", "entity_id", "role", "score", "evidence"])
    scores = rows[["entity_type", "entity_id", "score", "evidence"]].assign(amount_at_risk=0.0)
    return Findings(detector=detector, scores=scores, groups=rows, params={}, stats={})


def test_a_ring_seen_only_as_a_dense_core_is_not_reported_but_a_core_still_supports_a_loop(tiny_claims):
    core = _findings("cores", [("cores-A", "PROVIDER", "PRV-A", "core_provider", 30.0, "x"),
                               ("cores-A", "PROVIDER", "PRV-B", "core_provider", 30.0, "x"),
                               ("cores-L", "PROVIDER", "PRV-L1", "core_provider", 3.0, "x"),
                               ("cores-L", "PROVIDER", "PRV-L2", "core_provider", 3.0, "x")])
    loop = _findings("loops", [("loops-L", "PROVIDER", "PRV-L1", "loop_provider", 2.0, "y"),
                               ("loops-L", "PROVIDER", "PRV-L2", "loop_provider", 2.0, "y")])
    rings, _members = assemble_rings([core, loop], tiny_claims)
    assert len(rings) == 1 and rings["detectors"].iloc[0] == "cores,loops"
    assert rings["score"].iloc[0] > 2.0
    rings, _members = assemble_rings([core, loop], tiny_claims,
                                     config=DetectionConfig({"rings.support_only": ""}))
    assert len(rings) == 2


def test_a_core_supporting_a_loop_adds_its_providers_but_not_the_patients_they_merely_share(tiny_claims):
    core = _findings("cores", [("cores-L", "PROVIDER", "PRV-L1", "core_provider", 3.0, "x"),
                               ("cores-L", "PROVIDER", "PRV-L2", "core_provider", 3.0, "x"),
                               ("cores-L", "BENEFICIARY", "BEN-SHARED", "core_patient", 3.0, "x")])
    loop = _findings("loops", [("loops-L", "PROVIDER", "PRV-L1", "loop_provider", 2.0, "y"),
                               ("loops-L", "PROVIDER", "PRV-L2", "loop_provider", 2.0, "y"),
                               ("loops-L", "BENEFICIARY", "BEN-LOOPED", "looped_patient", 2.0, "y")])
    rings, members = assemble_rings([core, loop], tiny_claims)
    assert len(rings) == 1 and rings["detectors"].iloc[0] == "cores,loops"
    assert set(members.loc[members["entity_type"] == "BENEFICIARY", "entity_id"]) == {"BEN-LOOPED"}
    _rings, members = assemble_rings([core, loop], tiny_claims, config=DetectionConfig({"rings.support_only": ""}))
    assert "BEN-SHARED" in set(members["entity_id"])


def test_a_provider_tied_to_a_loop_by_one_unsurprising_link_is_left_out_of_it():
    import networkx as nx

    from detectors.loops import _strongly_tied

    G = nx.Graph()
    for a, b in (("A", "B"), ("B", "C"), ("A", "C")):
        G.add_edge(a, b, shared=6, lift=50.0)
    G.add_edge("C", "N", shared=3, lift=4.9)
    expected = {("A", "B"): 0.07, ("B", "C"): 0.1, ("A", "C"): 0.46, ("C", "N"): 0.61}
    assert _strongly_tied(G, expected, 2.0, 2.0) == {"A", "B", "C"}
    # When no link is surprising by itself, nothing is singled out (the caller keeps the set as found).
    assert _strongly_tied(G, {k: 3.0 for k in expected}, 2.0, 2.0) == set()


def test_a_clinic_whose_catchment_brings_many_far_patients_is_read_against_its_peers_far_patients():
    from detectors.phantoms import PhantomDetector

    rows, n = [], 0

    def surgery(clinic, region, birth):
        nonlocal n
        n += 1
        rows.append(_row(f"C{n}", 1, f"B{n}", clinic, "CLINIC", "SURGERY", "K100", 9000, "2025-03-10",
                         region=region, pregion="03", doctor=f"S-{clinic}", birth=birth))

    # Ten ordinary clinics: 20 local patients, 4 from afar of whom one is elderly and seen nowhere else.
    # A referral clinic: 20 local, 40 from afar, 10 of them elderly and seen nowhere else (its peers' share of far
    # patients, far above their share of all patients). A phantom biller: 20 local, 8 from afar, 7 of them so.
    for clinic, far, old in [(f"CLIN{i}", 4, 1) for i in range(10)] + [("REF", 40, 10), ("PHANTOM", 8, 7)]:
        for _ in range(20):
            surgery(clinic, "03", 1980)
        for j in range(far):
            surgery(clinic, "09", 1935 if j < old else 1980)
    groups = PhantomDetector().fit(_frame(rows)).groups
    assert set(groups.loc[groups["role"] == "phantom_biller", "entity_id"]) == {"PHANTOM"}
