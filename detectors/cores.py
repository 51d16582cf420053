"""Dense patient x provider cores.

A core is a small set of providers whose suspicious patients are each seen by
many of the same providers: the bipartite patient x provider graph is nearly
complete there.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector
from detectors.calibration import count_surprise
from detectors.communities import suspicion_graph
from detectors.config import default
from detectors.findings import Rows

__all__ = ["dense_cores", "split_by_shared", "CoreDetector"]

def dense_cores(G: nx.Graph, lines: pd.DataFrame, *, weight: str = "weight", seed: int | None = None,
                max_size: int = 12, max_degree: int = 30) -> list[dict[str, Any]]:
    """Small dense provider cores of the suspicion graph and the patients they share.

    Hubs (degree above ``max_degree``) are set aside, then edges below a shared-patient
    threshold are dropped, the threshold rising until every connected component has
    at most ``max_size`` providers: deterministic, no seed used (``seed`` is accepted
    for the common signature).

    Returns
    -------
    list of dict
        ``providers`` (sorted), ``patients`` (sorted ids seen by at least two of them on
        suspicious lines), ``density`` (mean share of the core's providers each such
        patient saw), ``lift`` (mean edge lift), ``score``.
    """
    del seed
    H = G.subgraph([n for n in G if G.degree(n) <= max_degree]).copy()
    comps = split_by_shared(H, max_size)
    susp = lines.loc[lines["suspicious"], ["beneficiary_id", "provider_id"]].drop_duplicates()
    out = []
    for comp in comps:
        sub = susp[susp["provider_id"].isin(comp)]
        seen = sub.groupby("beneficiary_id")["provider_id"].nunique()
        core_patients = sorted(seen[seen >= 2].index)
        if len(core_patients) < 2:
            continue
        density = float(seen[seen >= 2].mean() / len(comp))
        lifts = [d["lift"] for _, _, d in H.subgraph(comp).edges(data=True)]
        lift = float(np.mean(lifts)) if lifts else 1.0
        score = len(core_patients) * density * np.log1p(lift)
        expected = float(sum(d.get("expected", 0.0) for _, _, d in H.subgraph(comp).edges(data=True)))
        out.append({"providers": sorted(comp), "patients": core_patients, "density": density, "lift": lift,
                    "expected": expected, "score": float(score)})
    return sorted(out, key=lambda c: (-c["score"], c["providers"]))


def split_by_shared(H: nx.Graph, max_size: int) -> list[list[str]]:
    """The connected components of ``H``, split until each has at most ``max_size`` nodes.

    A component too large loses its edges of fewest ``shared`` patients, the
    threshold rising one observed value at a time, until its pieces fit;
    deterministic. Components of one node are dropped.

    Parameters
    ----------
    H : networkx.Graph
        Edges carry an integer ``shared`` attribute.
    max_size : int
        Largest component kept, in nodes.

    Returns
    -------
    list of list of str
        Each component's sorted nodes, the components sorted.
    """
    done, todo = [], [(sorted(c), 0) for c in nx.connected_components(H)]
    while todo:
        comp, threshold = todo.pop()
        if len(comp) < 2:
            continue
        if len(comp) <= max_size:
            done.append(comp)
            continue
        sub = H.subgraph(comp)
        shared = sorted({d["shared"] for _, _, d in sub.edges(data=True) if d["shared"] > threshold})
        if not shared:
            continue
        nxt = shared[0]
        keep = nx.Graph()
        keep.add_edges_from((a, b, d) for a, b, d in sub.edges(data=True) if d["shared"] > nxt)
        todo.extend((sorted(c), nxt) for c in nx.connected_components(keep))
    return sorted(done)


class CoreDetector(Detector):
    """Dense patient x provider cores on the suspicion graph.

    Parameters
    ----------
    min_lift, min_shared : float, int
        Edge thresholds of the suspicion graph.
    max_size : int
        Largest core, in providers.
    max_degree : int
        Providers linked to more providers are hubs and left out of cores.
    min_score : float
        Cores below are not nominated.
    """

    name = "cores"

    def __init__(
        self,
        min_lift: float = default("cores.min_lift"),
        min_shared: int = default("cores.min_shared"),
        max_size: int = default("cores.max_size"),
        max_degree: int = default("cores.max_degree"),
        min_score: float = default("cores.min_score"),
    ):
        self.min_lift = min_lift
        self.min_shared = min_shared
        self.max_size = max_size
        self.max_degree = max_degree
        self.min_score = min_score

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        G = suspicion_graph(context.projection, context.suspicious_projection,
                            min_lift=self.min_lift, min_shared=self.min_shared, explained=context.prescriptions)
        cores = dense_cores(G, context.lines, max_size=self.max_size, max_degree=self.max_degree)
        cal = context.config.section("calibration")
        n_providers = int(context.lines["provider_id"].nunique())
        scores, groups = [], []
        n = 0
        for c in cores:
            if c["score"] < self.min_score:
                continue
            n += 1
            c["score"] = float(count_surprise(len(c["patients"]), c["expected"],
                                              n_tested=n_providers * (n_providers - 1) // 2,
                                              dispersion=cal["sharing_dispersion"]))
            gid = "cores-" + "+".join(c["providers"])
            ev = (f"{len(c['patients'])} suspicious patients each seen by {c['density']:.0%} of "
                  f"{len(c['providers'])} providers, where {c['expected']:.1f} were expected from where they live")
            for p in c["providers"]:
                groups.append((gid, "PROVIDER", p, "core_provider", c["score"], ev))
                scores.append(("PROVIDER", p, c["score"], ev, 0.0))
            for b in c["patients"]:
                groups.append((gid, "BENEFICIARY", b, "core_patient", c["score"],
                               f"seen by several providers of core {gid}"))
        return scores, groups, {"cores": len(cores), "nominated": n, "edges": G.number_of_edges()}
