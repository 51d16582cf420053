"""Each detector flags the pattern it is built for in small data."""

from __future__ import annotations

import networkx as nx
import numpy as np

from detectors.base import build_context, robust_z
from detectors.centrality import CentralityDetector
from detectors.communities import CommunityDetector, louvain_partition
from detectors.cores import CoreDetector
from detectors.funnels import FunnelDetector
from detectors.indicators import IndicatorDetector
from detectors.loops import LoopDetector
from detectors.mills import MillDetector
from detectors.phantoms import PhantomDetector
from detectors.pharmacy import PharmacyRingDetector

LOOP_CLINICS = ("PRV-CLINIC-K1", "PRV-CLINIC-K2")
LOOP_DOCTORS = ("DOC-K1", "DOC-K2")
MILL_LAB, MILL_DOCTOR = "PRV-LAB-M", "DOC-M"


def _group_ids(findings, entity_id):
    g = findings.groups
    return set(g.loc[g["entity_id"] == entity_id, "group_id"])


def test_funnel_links_the_recruiter_to_the_ring_clinic_and_patients(tiny_claims, planted_ring):
    f = FunnelDetector().fit(tiny_claims)
    recruiter = f.groups[f.groups["role"] == "recruiter"]
    assert len(recruiter) == 1
    members = f.groups[f.groups["group_id"] == recruiter["group_id"].iloc[0]]
    assert "PRV-CLINIC-R" in set(members["entity_id"])
    assert planted_ring["doctor"] in set(members["entity_id"])
    assert set(members.loc[members["role"] == "recruited_patient", "entity_id"]) == planted_ring["beneficiaries"]


def test_core_is_the_ring_providers(pattern_claims, planted_ring):
    # Sharing is judged against what the neighbourhood predicts: the ring needs ordinary peers around it.
    f = CoreDetector().fit(pattern_claims)
    provs = f.groups[f.groups["entity_type"] == "PROVIDER"]
    assert set(provs["entity_id"]) == planted_ring["providers"]


def test_loop_is_the_two_clinics_operating_on_the_same_patients_and_their_surgeons(pattern_claims):
    f = LoopDetector().fit(pattern_claims)
    g = f.groups
    assert set(g.loc[g["entity_type"] == "PROVIDER", "entity_id"]) == set(LOOP_CLINICS)
    assert set(g.loc[g["entity_type"] == "DOCTOR", "entity_id"]) == set(LOOP_DOCTORS)
    assert set(g.loc[g["role"] == "looped_patient", "entity_id"]) == {f"BEN-K{k}" for k in range(5)}


def test_mill_is_the_lab_and_its_over_prescribing_doctor(pattern_claims):
    f = MillDetector().fit(pattern_claims)
    g = f.groups
    assert set(zip(g["entity_id"], g["role"])) == {(MILL_LAB, "centre"), (MILL_DOCTOR, "prescriber")}


def test_community_of_the_ring_is_stable_and_only_the_ring(tiny_claims, planted_ring):
    f = CommunityDetector(seed=1).fit(tiny_claims)
    assert set(f.groups["entity_id"]) == planted_ring["providers"]
    assert f.stats["nominated"] == 1


def test_indicators_rank_the_ring_clinic_first_among_providers(tiny_claims):
    s = IndicatorDetector().fit(tiny_claims).scores
    assert s[s["entity_type"] == "PROVIDER"].iloc[0]["entity_id"] == "PRV-CLINIC-R"


def test_phantom_clinic_is_flagged_with_its_phantoms(pattern_claims):
    f = PhantomDetector().fit(pattern_claims)
    assert f.scores.iloc[0]["entity_id"] == "PRV-CLINIC-P"
    phantoms = f.groups[f.groups["role"] == "phantom_patient"]
    assert set(phantoms["entity_id"]) == {f"BEN-P{k}" for k in range(6)}


def test_pharmacy_ring_names_the_pharmacy_and_its_prescriber(pattern_claims):
    f = PharmacyRingDetector().fit(pattern_claims)
    g = f.groups
    assert set(g.loc[g["role"] == "pharmacy", "entity_id"]) == {"PRV-PHARMA-X"}
    assert set(g.loc[g["role"] == "prescriber", "entity_id"]) == {"DOC-X"}


def test_centrality_scores_only_brokers_not_providers(pattern_claims):
    s = CentralityDetector(seed=0).fit(pattern_claims).scores
    assert set(s["entity_type"]) <= {"DOCTOR", "INTERMEDIARY"}
    assert (s["score"] > 0).all()


def test_ald_drugs_are_learnt_from_the_data(pattern_claims):
    lines = build_context(pattern_claims).lines
    assert lines.loc[lines["act_code"] == "MEDALD", "ald_drug"].all()
    assert not lines.loc[lines["act_code"] == "MED1", "ald_drug"].any()


def test_robust_z_flags_a_lone_outlier_and_ignores_wobbles():
    z = robust_z(np.array([1.0] * 9 + [5.0]), min_scale=0.25)
    assert z[-1] > 5 and np.allclose(z[:-1], 0)
    assert np.abs(robust_z(np.array([1.0, 1.0, 1.0001]), min_scale=0.25)).max() < 0.01


def test_louvain_engines_agree_on_two_cliques():
    G = nx.Graph()
    for base in (0, 10):
        G.add_edges_from((f"n{base + i}", f"n{base + j}", {"weight": 1.0}) for i in range(5) for j in range(i))
    G.add_edge("n0", "n10", weight=0.1)
    parts = [louvain_partition(G, seed=5, engine=e) for e in ("python-louvain", "igraph")]
    for part, modularity in parts:
        assert len(set(part.values())) == 2 and modularity > 0.4
    assert parts[0][0] == parts[1][0]
    assert louvain_partition(G, seed=5, engine="igraph") == parts[1]


def test_suspicion_graph_ignores_ordinary_sharing(tiny_claims):
    ctx = build_context(tiny_claims)
    from detectors.communities import suspicion_graph

    G = suspicion_graph(ctx.projection, ctx.suspicious_projection)
    assert set(G.nodes) == {"PRV-CLINIC-R", "PRV-LAB-R"}
    assert G["PRV-CLINIC-R"]["PRV-LAB-R"]["shared"] == 8


def test_community_engines_nominate_the_same_ring(tiny_claims):
    groups = [set(CommunityDetector(seed=2, louvain_engine=e).fit(tiny_claims).groups["entity_id"])
              for e in ("python-louvain", "igraph")]
    assert groups[0] == groups[1] != set()
