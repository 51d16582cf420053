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


def _tied_broker_graph(seed: int) -> nx.Graph:
    """Weights 1 + suspicious lines, as in the broker graph: many paths of mathematically equal length."""
    rng = np.random.default_rng(seed)
    G = nx.gnm_random_graph(400, 1000, seed=seed)
    H = nx.Graph()
    for a, b in G.edges():
        H.add_edge(f"DOCTOR:{a:03d}", f"PROVIDER:{b:03d}", weight=1.0 + float(rng.integers(1, 4)))
    for node in H:
        kind, entity = node.split(":")
        H.nodes[node].update(node_type=kind, entity_id=entity)
    return H


@pytest.mark.parametrize("k", [50, None])
def test_sparse_betweenness_equals_networkx_also_on_tied_paths(k):
    G = _tied_broker_graph(4)
    k = k or G.number_of_nodes()
    ref = broker_scores(G, seed=9, k=k, engine="networkx")
    fast = broker_scores(G, seed=9, k=k, engine="sparse")
    assert list(ref["node"]) == list(fast["node"])
    for col in ("betweenness", "z_betweenness", "z_pagerank"):
        np.testing.assert_allclose(fast[col], ref[col], rtol=1e-12, atol=1e-15)
    assert (ref["betweenness"] > 0).sum() > 50


def test_sparse_betweenness_solves_in_blocks_of_sources_as_in_one():
    from detectors.centrality import _sparse_betweenness

    H = _tied_broker_graph(6)
    for _, _, d in H.edges(data=True):
        d["distance"] = 1.0 / d["weight"]
    whole = _sparse_betweenness(H, k=60, seed=1)
    blocks = _sparse_betweenness(H, k=60, seed=1, cells=7 * H.number_of_nodes())
    np.testing.assert_allclose([blocks[n] for n in H], [whole[n] for n in H], rtol=1e-12, atol=1e-15)


def test_default_engine_gives_the_findings_of_networkx(small_world, monkeypatch):
    import detectors.centrality as centrality
    from detectors.pipeline import detect

    fast = detect(small_world, seed=3)
    monkeypatch.setattr(centrality, "_sparse_betweenness", lambda H, *, k, seed: nx.betweenness_centrality(
        H, k=k, weight="distance", seed=seed, normalized=True))
    ref = detect(small_world, seed=3)
    for name in ("rings", "members", "entity_scores"):
        a, b = getattr(fast, name), getattr(ref, name)
        assert list(a.columns) == list(b.columns)
        for col in a.columns:
            if a[col].dtype.kind == "f":
                np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-12, err_msg=f"{name}.{col}")
            else:
                assert list(a[col]) == list(b[col]), f"{name}.{col}"
    assert len(ref.rings) > 0
