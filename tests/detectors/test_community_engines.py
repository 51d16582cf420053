"""Community engines behind one adapter on integer codes: same partition whatever the edge order, one modularity."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from detectors.communities import louvain_partition, modularity, partition_codes


def _planted(seed: int, groups: int = 6, size: int = 25):
    """Dense groups joined by a few light edges, as integer-coded edges."""
    rng = np.random.default_rng(seed)
    a, b, w = [], [], []
    for g in range(groups):
        base = g * size
        for i in range(size):
            for j in range(i + 1, size):
                if rng.random() < 0.4:
                    a.append(base + i), b.append(base + j), w.append(1.0 + rng.integers(0, 4))
    for _ in range(groups * 3):
        i, j = rng.integers(0, groups * size, 2)
        if i // size != j // size:
            a.append(int(i)), b.append(int(j)), w.append(0.5)
    return groups * size, np.array(a), np.array(b), np.array(w, dtype=float)


def test_modularity_of_codes_is_networkx_modularity():
    n, a, b, w = _planted(1)
    membership = np.arange(n) // 25
    membership[::7] = 0
    G = nx.Graph()
    G.add_weighted_edges_from(zip(a.tolist(), b.tolist(), w.tolist()))
    groups = [set(np.flatnonzero(membership == c).tolist()) for c in np.unique(membership)]
    for resolution in (1.0, 0.5):
        assert modularity(membership, a, b, w, resolution=resolution) == pytest.approx(
            nx.community.modularity(G, groups, weight="weight", resolution=resolution), abs=1e-12)


@pytest.mark.parametrize("engine", ["python-louvain", "igraph", "leiden"])
def test_every_engine_finds_the_planted_groups_whatever_the_edge_order(engine):
    n, a, b, w = _planted(2)
    membership, quality = partition_codes(n, a, b, w, seed=4, engine=engine)
    assert len(np.unique(membership)) == 6
    assert all(len(np.unique(membership[g * 25:(g + 1) * 25])) == 1 for g in range(6))
    assert membership[0] == 0 and quality == pytest.approx(modularity(membership, a, b, w))
    flip = np.random.default_rng(0).permutation(len(a))
    again, _ = partition_codes(n, b[flip], a[flip], w[flip], seed=4, engine=engine)
    assert np.array_equal(again, membership)


def test_leiden_reaches_python_louvain_modularity_on_a_noisy_graph():
    rng = np.random.default_rng(5)
    G = nx.gnm_random_graph(600, 2400, seed=5)
    a, b = np.array(G.edges()).T
    w = 1.0 + rng.integers(0, 5, len(a)).astype(float)
    _, reference = partition_codes(600, a, b, w, seed=1, engine="python-louvain")
    _, leiden = partition_codes(600, a, b, w, seed=1, engine="leiden")
    assert leiden >= reference - 0.005


def test_graph_adapter_names_communities_by_their_smallest_member():
    G = nx.Graph()
    G.add_edges_from([("b", "c"), ("c", "d"), ("b", "d"), ("x", "y"), ("y", "z"), ("x", "z"), ("d", "x")])
    part, quality = louvain_partition(G, seed=0, engine="leiden")
    assert part == {"b": 0, "c": 0, "d": 0, "x": 1, "y": 1, "z": 1} and quality > 0.3


def test_unknown_engine_is_refused():
    n, a, b, w = _planted(3)
    with pytest.raises(ValueError, match="louvain engine"):
        partition_codes(n, a, b, w, engine="networkit")
