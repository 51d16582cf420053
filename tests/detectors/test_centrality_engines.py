"""The igraph betweenness is networkx's: same sampled sources, same scaling."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from detectors.centrality import broker_scores


def _broker_like(seed: int) -> nx.Graph:
    rng = np.random.default_rng(seed)
    G = nx.gnm_random_graph(300, 900, seed=seed)
    H = nx.Graph()
    for a, b in G.edges():
        # distinct irrational-ish weights: no two paths tie, so both engines count the same paths
        H.add_edge(f"DOCTOR:{a}", f"DOCTOR:{b}", weight=1.0 + float(rng.random()) * 7.0)
    for node in H:
        H.nodes[node].update(node_type="DOCTOR", entity_id=node.split(":")[1])
    return H


@pytest.mark.parametrize("k", [40, 300])
def test_igraph_betweenness_equals_networkx(k):
    G = _broker_like(3)
    ref = broker_scores(G, seed=5, k=k, engine="networkx")
    fast = broker_scores(G, seed=5, k=k, engine="igraph")
    assert list(ref["node"]) == list(fast["node"])
    np.testing.assert_allclose(fast["betweenness"], ref["betweenness"], rtol=1e-9, atol=1e-15)
    assert ref["betweenness"].max() > 0


def test_unknown_centrality_engine_is_refused():
    with pytest.raises(ValueError, match="centrality engine"):
        broker_scores(_broker_like(1), engine="gephi")
