"""Dense patient x provider cores, and referral loops among clinics and doctors.

A core is a small set of providers whose suspicious patients are each seen by
many of the same providers: the bipartite patient x provider graph is nearly
complete there. Referral loops are doctors working across a small set of
clinics that pass the same patients around.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector
from detectors.communities import suspicion_graph

__all__ = ["dense_cores", "referral_loops", "CoreDetector", "LoopDetector"]

_CARE_TYPES = ("CLINIC", "HOSPITAL", "DOCTOR", "LAB", "IMAGING", "DENTIST")


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
    comps = _split(H, max_size)
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
        out.append({"providers": sorted(comp), "patients": core_patients, "density": density, "lift": lift,
                    "score": float(score)})
    return sorted(out, key=lambda c: (-c["score"], c["providers"]))


def _split(H: nx.Graph, max_size: int) -> list[list[str]]:
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


def referral_loops(lines: pd.DataFrame, projection: pd.DataFrame, *, min_lines: int = 3,
                   max_providers: int = 5, min_patients: int = 3) -> pd.DataFrame:
    """Doctors who work across a few providers that pass the same patients between them.

    Returns
    -------
    DataFrame
        One row per doctor: doctor_id, providers (tuple, sorted), n_patients (his
        patients seen at two or more of his providers), share (of his patients),
        lift (mean lift of his provider pairs), amount, score.
    """
    df = lines.loc[lines["doctor_id"].notna() & lines["provider_type"].isin(_CARE_TYPES)]
    work = df.groupby(["doctor_id", "provider_id"]).size()
    work = work[work >= min_lines].reset_index()[["doctor_id", "provider_id"]]
    nprov = work.groupby("doctor_id").size()
    work = work[work["doctor_id"].map(nprov).between(2, max_providers)]
    if work.empty:
        return pd.DataFrame(columns=["doctor_id", "providers", "n_patients", "share", "lift", "amount", "score"])
    mine = df.merge(work, on=["doctor_id", "provider_id"])
    seen = mine.groupby(["doctor_id", "beneficiary_id"])["provider_id"].nunique()
    moved = seen[seen >= 2].groupby(level=0).size()
    total = seen.groupby(level=0).size()
    lift = projection.set_index(["provider_a", "provider_b"])["lift"]
    rows = []
    for doc, provs in work.groupby("doctor_id")["provider_id"]:
        n = int(moved.get(doc, 0))
        if n < min_patients:
            continue
        provs = tuple(sorted(provs))
        pair_lifts = [lift.get((a, b), lift.get((b, a), 1.0)) for i, a in enumerate(provs) for b in provs[i + 1:]]
        li = float(np.mean(pair_lifts))
        share = n / int(total[doc])
        amount = float(mine.loc[mine["doctor_id"] == doc, "amount_claimed"].sum())
        rows.append((doc, provs, n, share, li, amount, n * share * np.log1p(li)))
    out = pd.DataFrame(rows, columns=["doctor_id", "providers", "n_patients", "share", "lift", "amount", "score"])
    return out.sort_values(["score", "doctor_id"], ascending=[False, True]).reset_index(drop=True)


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

    def __init__(self, min_lift: float = 3.0, min_shared: int = 3, max_size: int = 12, max_degree: int = 30,
                 min_score: float = 3.0):
        self.min_lift = min_lift
        self.min_shared = min_shared
        self.max_size = max_size
        self.max_degree = max_degree
        self.min_score = min_score

    def _run(self, context: DetectionContext) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        G = suspicion_graph(context.projection, context.suspicious_projection,
                            min_lift=self.min_lift, min_shared=self.min_shared)
        cores = dense_cores(G, context.lines, max_size=self.max_size, max_degree=self.max_degree)
        scores, groups = [], []
        n = 0
        for c in cores:
            if c["score"] < self.min_score:
                continue
            n += 1
            gid = "cores-" + "+".join(c["providers"])
            ev = (f"{len(c['patients'])} suspicious patients each seen by {c['density']:.0%} of "
                  f"{len(c['providers'])} providers (lift {c['lift']:.1f} over chance)")
            for p in c["providers"]:
                groups.append((gid, "PROVIDER", p, "core_provider", c["score"], ev))
                scores.append(("PROVIDER", p, c["score"], ev, 0.0))
            for b in c["patients"]:
                groups.append((gid, "BENEFICIARY", b, "core_patient", c["score"] / 10,
                               f"seen by several providers of core {gid}"))
        scores = pd.DataFrame(scores, columns=["entity_type", "entity_id", "score", "evidence", "amount_at_risk"])
        scores = scores.drop_duplicates(["entity_type", "entity_id"])
        return (scores, pd.DataFrame(groups, columns=["group_id", "entity_type", "entity_id", "role", "score",
                                                      "evidence"]),
                {"cores": len(cores), "nominated": n, "edges": G.number_of_edges()})


class LoopDetector(Detector):
    """Referral loops: doctors whose patients circulate among their few clinics.

    Parameters
    ----------
    min_lines : int
        Lines a doctor needs at a provider to count as working there.
    max_providers : int
        Doctors working at more providers are not loops (locums, big hospitals).
    min_patients : int
        Fewest patients passed between his providers.
    min_lift : float
        Mean lift of his provider pairs needed to nominate a loop.
    """

    name = "loops"

    def __init__(self, min_lines: int = 3, max_providers: int = 5, min_patients: int = 3, min_lift: float = 3.0):
        self.min_lines = min_lines
        self.max_providers = max_providers
        self.min_patients = min_patients
        self.min_lift = min_lift

    def _run(self, context: DetectionContext) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        loops = referral_loops(context.lines, context.projection, min_lines=self.min_lines,
                               max_providers=self.max_providers, min_patients=self.min_patients)
        scores, groups = [], []
        n = 0
        for r in loops.itertuples(index=False):
            ev = (f"{r.n_patients} of his patients ({r.share:.0%}) go between his {len(r.providers)} providers "
                  f"(lift {r.lift:.1f} over chance)")
            scores.append(("DOCTOR", r.doctor_id, r.score, ev, r.amount))
            if r.lift < self.min_lift:
                continue
            n += 1
            gid = f"loops-{r.doctor_id}"
            groups.append((gid, "DOCTOR", r.doctor_id, "loop_doctor", r.score, ev))
            for p in r.providers:
                groups.append((gid, "PROVIDER", p, "loop_provider", r.score,
                               f"one of the {len(r.providers)} providers doctor {r.doctor_id} passes patients between"))
        return (pd.DataFrame(scores, columns=["entity_type", "entity_id", "score", "evidence", "amount_at_risk"]),
                pd.DataFrame(groups, columns=["group_id", "entity_type", "entity_id", "role", "score", "evidence"]),
                {"loops": len(loops), "nominated": n})
