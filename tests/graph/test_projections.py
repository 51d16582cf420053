"""Sparse projections equal networkx's, and lift is shared over chance."""

from __future__ import annotations

import networkx as nx
import pytest
from networkx.algorithms import bipartite

from graph.projections import provider_projection
from tests.graph.conftest import random_claims


def test_provider_projection_equals_networkx_weighted_projection():
    claims = random_claims(600, 150, 25, seed=1)
    B = nx.Graph()
    providers = set(claims["provider_id"])
    B.add_nodes_from(providers, bipartite=1)
    B.add_edges_from(zip(claims["beneficiary_id"], claims["provider_id"]))
    reference = bipartite.weighted_projected_graph(B, providers)
    ours = provider_projection(claims)
    assert len(ours) == reference.number_of_edges()
    for row in ours.itertuples():
        assert reference[row.provider_a][row.provider_b]["weight"] == row.shared_patients


def test_lift_is_shared_over_independent_expectation(tiny_claims):
    ring = provider_projection(tiny_claims).set_index(["provider_a", "provider_b"]).loc[("PRV-CLINIC-R", "PRV-LAB-R")]
    # 32 patients, 8 at each ring provider, all 8 shared: expected 8 * 8 / 32 = 2, lift 4
    assert ring["shared_patients"] == 8
    assert ring["expected"] == pytest.approx(2.0)
    assert ring["lift"] == pytest.approx(4.0)


def test_min_shared_drops_weak_pairs():
    claims = random_claims(600, 150, 25, seed=2)
    every = provider_projection(claims)
    strong = provider_projection(claims, min_shared=3)
    assert len(strong) == (every["shared_patients"] >= 3).sum()
    assert (strong["provider_a"] < strong["provider_b"]).all()
