"""Brokers: intermediaries and doctors who bridge clinics, against their peers.

The graph joins doctors to the providers they work at and intermediaries to the
providers their households are sent to, weighted by suspicious lines. PageRank
and sampled betweenness are compared within node type with robust z-scores: a
doctor who bridges several clinics that share suspicious patients stands out
among doctors, not among clinics.
"""

from __future__ import annotations

import random
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import spsolve_triangular

from detectors.base import DetectionContext, Detector, robust_z
from detectors.calibration import surprise
from detectors.config import default
from ingest.encode import IdCodes

__all__ = ["broker_graph", "broker_scores", "CentralityDetector"]


def broker_graph(lines: pd.DataFrame, members: pd.DataFrame | None = None, *,
                 min_suspicious: int = 1, codes: IdCodes | None = None) -> nx.Graph:
    """Doctor-provider and intermediary-provider graph weighted by suspicious lines (plus one).

    Only links carrying at least ``min_suspicious`` suspicious lines are kept: a broker
    matters when suspicious patients flow through him, and the graph of ordinary care
    is too big for betweenness at national scale.
    Node names are ``"<TYPE>:<id>"``; nodes carry ``node_type`` and ``entity_id``.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    members : DataFrame, optional
        Intermediaries' beneficiaries (intermediary_id, beneficiary_id).
    min_suspicious : int
        Fewest suspicious lines a link needs.
    codes : IdCodes, optional
        The lines' identifier codes (``DetectionContext.codes``); made here when absent.
    """
    G = nx.Graph()
    susp = lines["suspicious"].astype(int)
    codes = codes or IdCodes(lines)
    edges = [_doctor_provider_counts(codes, susp.to_numpy())]
    if members is not None and len(members):
        m = members[["intermediary_id", "beneficiary_id"]].drop_duplicates().astype(str)
        edges.append(_intermediary_provider_counts(codes, susp.to_numpy(), m))
    for frame in edges:
        frame = frame[frame["sum"] >= min_suspicious]
        for src, prov, s, _n, t in frame.sort_values(["src", "provider_id"]).itertuples(index=False):
            a, b = f"{t}:{src}", f"PROVIDER:{prov}"
            G.add_node(a, node_type=t, entity_id=str(src))
            G.add_node(b, node_type="PROVIDER", entity_id=str(prov))
            G.add_edge(a, b, weight=1.0 + float(s))
    return G


def _doctor_provider_counts(codes: IdCodes, suspicious: np.ndarray) -> pd.DataFrame:
    """Suspicious lines and lines of each (doctor, provider) pair, sorted by the two ids (src, provider_id,
    sum, size, t), grouped on the ids' integer codes rather than their text."""
    doctor, doctor_ids = codes("doctor_id")
    provider, provider_ids = codes("provider_id")
    keep = (doctor >= 0) & (provider >= 0)
    return _pair_counts(doctor[keep], doctor_ids, provider[keep], provider_ids, suspicious[keep], "DOCTOR")


def _intermediary_provider_counts(codes: IdCodes, suspicious: np.ndarray, members: pd.DataFrame) -> pd.DataFrame:
    """Suspicious lines and lines of each (intermediary, provider) pair over the lines of the intermediary's
    beneficiaries (a join of ``members`` to the lines on the patient), sorted by the two ids, as
    :func:`_doctor_provider_counts` frames them; the lines are reached through the patients' row index."""
    patient_ids = codes("beneficiary_id")[1]
    provider, provider_ids = codes("provider_id")
    order, starts = codes.groups("beneficiary_id")
    inter, inter_ids = pd.factorize(members["intermediary_id"], sort=True)
    who = patient_ids.get_indexer(pd.Index(members["beneficiary_id"], dtype="str"))
    known = who >= 0
    first, n = starts[who[known]], starts[who[known] + 1] - starts[who[known]]
    # every line of each membership's patient: its run of the sorted lines
    at = np.repeat(first - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
    line = order[at]
    src = np.repeat(inter[known], n)
    keep = provider[line] >= 0
    return _pair_counts(src[keep], np.asarray(inter_ids, dtype=object), provider[line][keep], provider_ids,
                        suspicious[line][keep], "INTERMEDIARY")


def _pair_counts(src: np.ndarray, src_ids: np.ndarray, provider: np.ndarray, provider_ids: np.ndarray,
                 suspicious: np.ndarray, kind: str) -> pd.DataFrame:
    """Suspicious lines and lines of each (src, provider) pair of codes, one entry per line, sorted by the
    two codes (src, provider_id, sum, size, t): the ids' sorted order, as their lookup tables are sorted."""
    width = max(len(provider_ids), 1)
    key = src.astype(np.int64) * width + provider
    counts = pd.Series(suspicious).groupby(key, sort=True).agg(["sum", "size"])
    pair = counts.index.to_numpy()
    return pd.DataFrame({"src": src_ids[pair // width], "provider_id": provider_ids[pair % width],
                         "sum": counts["sum"].to_numpy(), "size": counts["size"].to_numpy(), "t": kind})


def broker_scores(G: nx.Graph, *, weight: str = "weight", seed: int | None = None, k: int = 200,
                  engine: str = "auto") -> pd.DataFrame:
    """PageRank and sampled betweenness of every node, robust z within node type.

    Parameters
    ----------
    G : networkx.Graph
        From :func:`broker_graph`.
    weight : str
    seed : int, optional
        Seeds the betweenness sample.
    k : int
        Betweenness sample size (all nodes when the graph is smaller).
    engine : {"networkx", "sparse", "igraph", "auto"}
        Who computes the sampled betweenness. networkx is the reference; ``sparse``
        computes the same numbers from the same sampled sources with scipy (Dijkstra in C,
        path counts and dependencies as sparse triangular solves: equal to networkx's up
        to float rounding, about 1e-15); igraph also runs in C but counts two weighted
        paths as equally short when their lengths differ by float rounding, where networkx
        does not, so on graphs with many equal weights a few percent of the nodes get other
        values. ``auto`` is ``sparse``.

    Returns
    -------
    DataFrame
        node, node_type, entity_id, pagerank, betweenness, degree, z_pagerank, z_betweenness.
    """
    cols = ["node", "node_type", "entity_id", "pagerank", "betweenness", "degree", "z_pagerank", "z_betweenness"]
    if G.number_of_nodes() == 0:
        return pd.DataFrame(columns=cols)
    H = nx.Graph()
    H.add_nodes_from(sorted(G.nodes(data=True)))
    H.add_edges_from(sorted(G.edges(data=True)))
    pr = nx.pagerank(H, weight=weight)
    # Betweenness on distances: a heavy edge is a short one.
    for _, _, d in H.edges(data=True):
        d["distance"] = 1.0 / d[weight]
    if engine == "auto":
        engine = "sparse"
    if engine == "networkx":
        bt = nx.betweenness_centrality(H, k=min(k, H.number_of_nodes()), weight="distance", seed=seed,
                                       normalized=True)
    elif engine == "sparse":
        bt = _sparse_betweenness(H, k=min(k, H.number_of_nodes()), seed=seed)
    elif engine == "igraph":
        bt = _igraph_betweenness(H, k=min(k, H.number_of_nodes()), seed=seed)
    else:
        raise ValueError(f"centrality engine {engine!r}: expected networkx, sparse, igraph or auto")
    nodes = sorted(H.nodes)
    out = pd.DataFrame({
        "node": nodes,
        "node_type": [H.nodes[n]["node_type"] for n in nodes],
        "entity_id": [H.nodes[n]["entity_id"] for n in nodes],
        "pagerank": [pr[n] for n in nodes],
        "betweenness": [bt[n] for n in nodes],
        "degree": [H.degree(n) for n in nodes],
    })
    out["z_pagerank"] = np.nan
    out["z_betweenness"] = np.nan
    for _, idx in out.groupby("node_type").groups.items():
        out.loc[idx, "z_pagerank"] = robust_z(out.loc[idx, "pagerank"].to_numpy())
        out.loc[idx, "z_betweenness"] = robust_z(out.loc[idx, "betweenness"].to_numpy())
    return out[cols]


def _sampled_sources(nodes: list, *, k: int, seed: int | None) -> tuple[dict, bool, list]:
    """Node positions, whether sources are sampled, and the sources networkx would draw."""
    index = {node: i for i, node in enumerate(nodes)}
    sampled = k < len(nodes)
    return index, sampled, random.Random(seed).sample(nodes, k) if sampled else nodes


def _sparse_betweenness(H: nx.Graph, *, k: int, seed: int | None, cells: int = 4_000_000) -> dict:
    """networkx's sampled, normalised betweenness on ``distance`` (endpoints excluded), with scipy.

    Brandes' algorithm as networkx runs it, per sampled source: exact Dijkstra distances
    (scipy adds lengths in the same order, ``dist[u] + length``, so the floats are equal);
    the arcs of shortest paths are those where ``dist[u] + length == dist[v]`` exactly
    (networkx's tie rule); with the nodes in order of distance they form a triangular
    system, so the path counts solve ``(I - A) sigma = e_s`` and the dependencies
    ``(I - A^T) x = 1 / sigma``, ``delta = sigma * A^T x``. Sources are solved in blocks of
    at most ``cells`` (source, node) unknowns; the sources and the scaling are networkx's.
    """
    nodes = list(H.nodes)
    n = len(nodes)
    if n <= 2:
        return nx.betweenness_centrality(H, k=k, weight="distance", seed=seed, normalized=True)
    index, sampled, sources = _sampled_sources(nodes, k=k, seed=seed)
    a = np.fromiter((index[u] for u, _ in H.edges()), dtype=np.int64, count=H.number_of_edges())
    b = np.fromiter((index[v] for _, v in H.edges()), dtype=np.int64, count=H.number_of_edges())
    length = np.fromiter((d["distance"] for _, _, d in H.edges(data=True)), dtype=float, count=len(a))
    graph = sparse.csr_matrix((length, (a, b)), shape=(n, n))
    tail, head, arc = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([length, length])
    total = np.zeros(n)
    codes = np.array([index[s] for s in sources], dtype=np.int64)
    step = max(1, cells // n)
    for start in range(0, len(codes), step):
        total += _dependencies(graph, codes[start:start + step], tail, head, arc).sum(axis=0)
    pairs = n - 2
    if not sampled:
        return {node: value / ((n - 1) * pairs) for node, value in zip(nodes, total)}
    as_source = 1.0 / ((k - 1) * pairs) if k > 1 else float("nan")
    other = 1.0 / (k * pairs)
    is_source = np.zeros(n, bool)
    is_source[codes] = True
    return {node: value * (as_source if src else other) for node, value, src in zip(nodes, total, is_source)}


def _dependencies(graph: sparse.csr_matrix, sources: np.ndarray, tail: np.ndarray, head: np.ndarray,
                  arc: np.ndarray) -> np.ndarray:
    """Brandes dependency of every node (columns) on each source's shortest paths (rows); 0 at the source."""
    c, n = len(sources), graph.shape[0]
    dist = csgraph.dijkstra(graph, directed=False, indices=sources)
    # Position of each node in its source's order of distance: arcs of shortest paths go forward in it.
    order = np.argsort(dist, axis=1, kind="stable")
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(n)[None, :], axis=1)
    row, k = np.nonzero(np.isfinite(dist[:, tail]) & (dist[:, tail] + arc[None, :] == dist[:, head]))
    size = c * n
    src_at = row * n + pos[row, tail[k]]
    dst_at = row * n + pos[row, head[k]]
    A = sparse.csr_matrix((np.ones(len(row)), (dst_at, src_at)), shape=(size, size))
    eye = sparse.identity(size, format="csr")
    start = np.zeros(size)
    start[np.arange(c) * n] = 1.0  # each source is first in its own order
    sigma = spsolve_triangular((eye - A).tocsr(), start, lower=True, unit_diagonal=True)
    inverse = np.divide(1.0, sigma, out=np.zeros(size), where=sigma > 0)
    At = A.T.tocsr()
    x = spsolve_triangular((eye - At).tocsr(), inverse, lower=False, unit_diagonal=True)
    delta = sigma * (At @ x)
    delta[np.arange(c) * n] = 0.0
    out = np.empty((c, n))
    np.put_along_axis(out, order, delta.reshape(c, n), axis=1)
    return out


def _igraph_betweenness(H: nx.Graph, *, k: int, seed: int | None) -> dict:
    """networkx's sampled, normalised betweenness on ``distance`` (endpoints excluded), computed by igraph.

    The sources are the ones networkx draws (``random.Random(seed).sample`` of the nodes in
    order; all nodes when ``k`` is their number), and the sums are scaled as networkx 3.6
    does: igraph counts each undirected path once where networkx counts it from both ends
    (x2), then 1 / (k (n - 2)) for a node that is not a source and 1 / ((k - 1)(n - 2)) for
    one that is (a source cannot be an inner node of its own paths).
    """
    # Imported here: igraph is only needed for large graphs (start-up time).
    import igraph as ig

    nodes = list(H.nodes)
    n = len(nodes)
    if n <= 2:
        return nx.betweenness_centrality(H, k=k, weight="distance", seed=seed, normalized=True)
    index, sampled, sources = _sampled_sources(nodes, k=k, seed=seed)
    g = ig.Graph(n=n, edges=[(index[a], index[b]) for a, b in H.edges()])
    g.es["distance"] = [d["distance"] for _, _, d in H.edges(data=True)]
    raw = g.betweenness(directed=False, weights="distance", sources=[index[s] for s in sources])
    pairs = n - 2
    if not sampled:
        return {node: 2.0 * value / ((n - 1) * pairs) for node, value in zip(nodes, raw)}
    is_source = set(sources)
    as_source = 1.0 / ((k - 1) * pairs) if k > 1 else float("nan")
    other = 1.0 / (k * pairs)
    return {node: 2.0 * value * (as_source if node in is_source else other) for node, value in zip(nodes, raw)}


class CentralityDetector(Detector):
    """Doctors and intermediaries who broker between providers.

    Parameters
    ----------
    seed : int
        Seeds the betweenness sample.
    k : int
        Betweenness sample size.
    cap : float
        Cap on each z-score.
    min_suspicious : int
        Suspicious lines a link needs to be in the broker graph.
    engine : {"networkx", "sparse", "igraph", "auto"}
        Who computes the sampled betweenness (see :func:`broker_scores`).
    """

    name = "centrality"

    def __init__(
        self,
        seed: int = 42,
        k: int = default("centrality.k"),
        cap: float = default("centrality.cap"),
        min_suspicious: int = default("centrality.min_suspicious"),
        engine: str = "auto",
    ):
        self.seed = seed
        self.k = k
        self.cap = cap
        self.min_suspicious = min_suspicious
        self.engine = engine

    def _run(self, context: DetectionContext) -> tuple[pd.DataFrame | None, None, dict[str, Any]]:
        G = broker_graph(context.lines, getattr(context.intermediaries, "members", None),
                         min_suspicious=self.min_suspicious, codes=context.codes)
        t = broker_scores(G, seed=self.seed, k=self.k, engine=self.engine)
        t = t[t["node_type"] != "PROVIDER"]
        zp = np.clip(t["z_pagerank"].to_numpy(float), 0, self.cap)
        zb = np.clip(t["z_betweenness"].to_numpy(float), 0, self.cap)
        n_type = t.groupby("node_type")["node"].transform("size").to_numpy(float)
        # The better of two statistics: twice the entities looked at.
        score = surprise(np.maximum(zp, zb), n_tested=2 * n_type, df=context.config.get("calibration.tail_df"))
        evidence = [
            f"bridges {d} providers; PageRank z={a:.1f}, betweenness z={b:.1f} against other {ty.lower()}s"
            for d, a, b, ty in zip(t["degree"], t["z_pagerank"], t["z_betweenness"], t["node_type"])
        ]
        scores = pd.DataFrame({"entity_type": t["node_type"].to_numpy(), "entity_id": t["entity_id"].to_numpy(),
                               "score": score, "evidence": evidence, "amount_at_risk": 0.0})
        return scores[scores["score"] > 0], None, {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()}
