"""Communities of providers on the suspicion-weighted shared-patient graph.

Plain Louvain on shared patients finds geography, so edges are weighted by
suspicion: the number of patients two providers share through suspicious acts
(Tadamon and expensive or far, or ALD drugs without ALD) times the log of the
lift of their sharing over chance. Louvain runs on several seeds and each
community carries its stability (how often its member pairs stay together).
Communities only nominate: :mod:`detectors.rings` decides by rules.
"""

from __future__ import annotations

import random
from itertools import combinations
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector
from detectors.calibration import count_surprise
from detectors.config import default
from detectors.findings import Rows

__all__ = ["suspicion_graph", "louvain_partition", "partition_codes", "modularity", "stable_communities",
           "CommunityDetector"]


def suspicion_graph(projection: pd.DataFrame, suspicious_projection: pd.DataFrame, *,
                    min_lift: float = 2.0, min_shared: int = 2,
                    explained: set[tuple[str, str]] | None = None) -> nx.Graph:
    """Provider graph whose edge ``weight`` is suspicious shared patients x log(1 + lift).

    Parameters
    ----------
    projection, suspicious_projection : DataFrame
        ``provider_projection`` of all claims and of the suspicious lines only. The
        lift is ``local_lift`` when the projection has it (sharing against what the
        patients' home regions predict, :mod:`detectors.sharing`), else the global one.
    min_lift, min_shared : float, int
        Edges below either threshold are dropped.
    explained : set of (a, b), optional
        Pairs whose sharing is explained by a prescription flow (a pharmacy and the
        doctor next door whose prescriptions it fills); left out.

    Returns
    -------
    networkx.Graph
        Nodes are provider ids; edges carry ``weight``, ``shared``, ``lift`` and
        ``expected`` (suspicious patients the pair would share at its neighbourhood's rate).
    """
    local = "local_lift" in projection.columns
    indexed = projection.set_index(["provider_a", "provider_b"])
    sp = suspicious_projection[["provider_a", "provider_b", "shared_patients"]]
    sp = sp.loc[sp["shared_patients"] >= min_shared]
    keys = pd.MultiIndex.from_frame(sp[["provider_a", "provider_b"]])
    lifts = indexed[("local_lift" if local else "lift")].reindex(keys).to_numpy(float)
    # What the pair would share of these suspicious patients if it shared at the rate its neighbourhood predicts.
    expected = (indexed["local_expected" if local else "expected"].reindex(keys).to_numpy(float)
                * sp["shared_patients"].to_numpy(float) / indexed["shared_patients"].reindex(keys).to_numpy(float))
    keep = lifts >= min_lift
    if explained:
        keep &= ~np.fromiter(((str(a), str(b)) in explained for a, b in keys), dtype=bool, count=len(keys))
    G = nx.Graph()
    rows = sp.loc[keep].assign(lift=lifts[keep], expected=expected[keep]).sort_values(["provider_a", "provider_b"])
    for a, b, s, li, e in rows.itertuples(index=False):
        G.add_edge(str(a), str(b), weight=float(s) * float(np.log1p(li)), shared=int(s), lift=float(li),
                   expected=float(e))
    return G


def louvain_partition(G: nx.Graph, *, weight: str = "weight", seed: int | None = None,
                      engine: str = "auto", resolution: float = 1.0,
                      auto_threshold: int = 20_000) -> tuple[dict[str, int], float]:
    """Louvain communities of ``G`` with python-louvain, igraph or igraph's Leiden, behind one adapter.

    Parameters
    ----------
    G : networkx.Graph
    weight : str
        Edge attribute holding the weight.
    seed : int, optional
        Random seed; the same seed gives the same partition.
    engine : {"python-louvain", "igraph", "leiden", "auto"}
        ``igraph`` is igraph's Louvain (multilevel), ``leiden`` igraph's Leiden
        maximising modularity (two iterations); ``auto`` is python-louvain (the
        reference) up to ``auto_threshold`` edges and Leiden above.
    resolution : float
    auto_threshold : int
        Edges above which ``auto`` leaves python-louvain.

    Returns
    -------
    (partition, modularity)
        node -> community number (numbered by smallest member), and the
        partition's modularity (:func:`modularity`).
    """
    nodes = sorted(G.nodes)
    if G.number_of_edges() == 0:
        return {n: i for i, n in enumerate(nodes)}, 0.0
    index = {n: i for i, n in enumerate(nodes)}
    edges = np.array([(min(index[a], index[b]), max(index[a], index[b])) for a, b in G.edges()], dtype=np.int64)
    weights = np.fromiter((float(d.get(weight, 1.0)) for _, _, d in G.edges(data=True)), dtype=float,
                          count=len(edges))
    membership, quality = partition_codes(len(nodes), edges[:, 0], edges[:, 1], weights, seed=seed, engine=engine,
                                          resolution=resolution, auto_threshold=auto_threshold)
    return {n: int(c) for n, c in zip(nodes, membership)}, quality


def partition_codes(n_nodes: int, a: np.ndarray, b: np.ndarray, weights: np.ndarray, *, seed: int | None = None,
                    engine: str = "auto", resolution: float = 1.0,
                    auto_threshold: int = 20_000) -> tuple[np.ndarray, float]:
    """Communities of a weighted undirected graph given as integer codes (no Python object per edge).

    Node ``i`` is the ``i``-th entry of the caller's sorted lookup table; community
    numbers follow the smallest member code, so the partition does not depend on the
    order of the edges.

    Parameters
    ----------
    n_nodes : int
        Nodes are ``0 .. n_nodes - 1``.
    a, b : ndarray of int
        End points of each edge (each undirected edge once, no self-loop).
    weights : ndarray of float
        Edge weights.
    seed : int, optional
        Random seed; the same seed gives the same partition.
    engine : {"python-louvain", "igraph", "leiden", "auto"}
        See :func:`louvain_partition`.
    resolution : float
    auto_threshold : int
        Edges above which ``auto`` leaves python-louvain.

    Returns
    -------
    (membership, modularity)
        int64 community number per node, and :func:`modularity` of that partition.
    """
    a, b = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    weights = np.asarray(weights, dtype=float)
    order = np.lexsort((b, a))
    a, b, weights = a[order], b[order], weights[order]
    if len(a) == 0:
        return np.arange(n_nodes, dtype=np.int64), 0.0
    if engine == "auto":
        engine = "leiden" if len(a) > auto_threshold else "python-louvain"
    if engine == "python-louvain":
        # Each engine is imported only when chosen: a run uses one.
        import community as community_louvain

        H = nx.Graph()
        H.add_nodes_from(range(n_nodes))
        H.add_weighted_edges_from(zip(a.tolist(), b.tolist(), weights.tolist()))
        part = community_louvain.best_partition(H, weight="weight", random_state=seed, resolution=resolution)
        membership = np.fromiter((part[i] for i in range(n_nodes)), dtype=np.int64, count=n_nodes)
    elif engine in ("igraph", "leiden"):
        membership = _igraph_membership(n_nodes, a, b, weights, seed=seed, resolution=resolution, engine=engine)
    else:
        raise ValueError(f"louvain engine {engine!r}: expected python-louvain, igraph, leiden or auto")
    membership = _renumber(membership)
    return membership, modularity(membership, a, b, weights, resolution=resolution)


def modularity(membership: np.ndarray, a: np.ndarray, b: np.ndarray, weights: np.ndarray, *,
               resolution: float = 1.0) -> float:
    """Newman modularity of a partition of an undirected weighted graph without self-loops.

    ``sum over communities of (inside weight / m - resolution * (degree sum / 2m)**2)``, the
    formula of ``networkx.community.modularity``, computed on arrays.

    Parameters
    ----------
    membership : ndarray of int
        Community number per node.
    a, b : ndarray of int
        Edge end points.
    weights : ndarray of float
        Edge weights.
    resolution : float
    """
    m = float(np.sum(weights))
    if m <= 0:
        return 0.0
    ca, cb = membership[a], membership[b]
    n_comms = int(membership.max()) + 1 if len(membership) else 0
    inside = np.bincount(ca[ca == cb], weights=weights[ca == cb], minlength=n_comms)
    degree = np.bincount(ca, weights=weights, minlength=n_comms) + np.bincount(cb, weights=weights, minlength=n_comms)
    return float(np.sum(inside / m - resolution * (degree / (2 * m)) ** 2))


def _igraph_membership(n_nodes: int, a: np.ndarray, b: np.ndarray, weights: np.ndarray, *, seed: int | None,
                       resolution: float, engine: str) -> np.ndarray:
    # Imported only when an igraph engine is chosen (large graphs): it is slow to import.
    import igraph as ig

    g = ig.Graph(n=n_nodes, edges=np.column_stack([a, b]))
    # igraph draws from a process-wide generator: seed it for this call, then give back the default.
    ig.set_random_number_generator(random.Random(seed))
    try:
        if engine == "leiden":
            clusters = g.community_leiden(objective_function="modularity", weights=weights.tolist(),
                                          resolution=resolution, n_iterations=2)
        else:
            clusters = g.community_multilevel(weights=weights.tolist(), resolution=resolution)
    finally:
        ig.set_random_number_generator(random)
    return np.asarray(clusters.membership, dtype=np.int64)


def _renumber(membership: np.ndarray) -> np.ndarray:
    """Community numbers in the order of each community's smallest node."""
    _, first, inverse = np.unique(membership, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse]


def stable_communities(G: nx.Graph, *, weight: str = "weight", seed: int | None = None,
                       n_seeds: int = 3, engine: str = "auto", resolution: float = 1.0,
                       max_size: int = 40) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Louvain on ``n_seeds`` seeds derived from ``seed``; communities of the first with their stability.

    Stability of a community is the share of its member pairs that are in the same
    community in every other seed's partition (1.0 = fully stable).

    Parameters
    ----------
    G : networkx.Graph
        The suspicion graph.
    weight : str
        Edge weight attribute.
    seed : int, optional
        Seeds the partitions.
    n_seeds : int
        Partitions compared.
    engine : str
        Louvain implementation (see :func:`louvain_partition`).
    resolution : float
        Louvain resolution.
    max_size : int
        Larger communities are split again.

    Returns
    -------
    (communities, stats)
        Each community: ``members`` (sorted ids), ``stability``, ``weight_inside``
        (sum of inside edge weights), ``shared_inside``, ``expected_inside`` (what the
        inside edges were expected to share); stats: modularity, n_communities.
    """
    base = 0 if seed is None else int(seed)
    parts = []
    modularity = 0.0
    for k in range(n_seeds):
        part, mod = louvain_partition(G, weight=weight, seed=base + 1009 * k, engine=engine, resolution=resolution)
        parts.append(part)
        if k == 0:
            modularity = mod
    groups: dict[int, list] = {}
    for node in sorted(parts[0]):
        groups.setdefault(parts[0][node], []).append(node)
    out = []
    for members in groups.values():
        if len(members) < 2 or len(members) > max_size:
            continue
        pairs = list(combinations(members, 2))
        agree = [np.mean([p[a] == p[b] for a, b in pairs]) for p in parts[1:]] or [1.0]
        sub = G.subgraph(members)
        out.append({
            "members": members,
            "stability": float(np.mean(agree)),
            "weight_inside": float(sub.size(weight=weight)),
            "shared_inside": int(sub.size(weight="shared")),
            "expected_inside": float(sub.size(weight="expected")),
        })
    return out, {"modularity": modularity, "n_communities": len(groups)}


class CommunityDetector(Detector):
    """Seeded Louvain on the suspicion-weighted provider graph, with a stability check.

    Parameters
    ----------
    seed : int
    n_seeds : int
        Partitions compared for stability.
    louvain_engine : {"python-louvain", "igraph", "leiden", "auto"}
    min_lift, min_shared : float, int
        Edge thresholds of :func:`suspicion_graph`.
    min_stability : float
        Less stable communities are not nominated.
    max_size : int
        Larger communities are geography, not rings, and are not nominated.
    """

    name = "communities"

    def __init__(
        self,
        seed: int = 42,
        n_seeds: int = default("communities.n_seeds"),
        louvain_engine: str = "auto",
        min_lift: float = default("communities.min_lift"),
        min_shared: int = default("communities.min_shared"),
        min_stability: float = default("communities.min_stability"),
        max_size: int = default("communities.max_size"),
    ):
        self.seed = seed
        self.n_seeds = n_seeds
        self.louvain_engine = louvain_engine
        self.min_lift = min_lift
        self.min_shared = min_shared
        self.min_stability = min_stability
        self.max_size = max_size

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        G = suspicion_graph(context.projection, context.suspicious_projection,
                            min_lift=self.min_lift, min_shared=self.min_shared, explained=context.prescriptions)
        comms, stats = stable_communities(G, seed=self.seed, n_seeds=self.n_seeds, engine=self.louvain_engine,
                                          max_size=self.max_size)
        groups, scores = [], []
        n = 0
        cal = context.config.section("calibration")
        n_providers = int(context.lines["provider_id"].nunique())
        for c in comms:
            if c["stability"] < self.min_stability:
                continue
            n += 1
            gid = f"communities-{n:04d}"
            score = float(count_surprise(c["shared_inside"], c["expected_inside"],
                                         n_tested=n_providers * (n_providers - 1) // 2,
                                         dispersion=cal["sharing_dispersion"]))
            ev = (f"shares {c['shared_inside']} suspicious patients with {len(c['members']) - 1} other "
                  f"providers of a stable community (stability {c['stability']:.2f}) where "
                  f"{c['expected_inside']:.1f} were expected from where they live")
            for m in c["members"]:
                groups.append((gid, "PROVIDER", m, "member", score, ev))
                scores.append(("PROVIDER", m, score, ev, 0.0))
        stats = {**stats, "nodes": G.number_of_nodes(), "edges": G.number_of_edges(), "nominated": n}
        return scores, groups, stats
