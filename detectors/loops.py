"""Referral loops: doctors working across a small set of clinics that pass the same patients around."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector
from detectors.calibration import count_surprise
from detectors.config import default
from detectors.cores import split_by_shared
from detectors.findings import Rows
from detectors.sharing import expected_model, with_local_lift
from graph.projections import provider_projection

__all__ = ["referral_loops", "care_pair_expected", "LoopDetector"]

_CARE_TYPES = ("CLINIC", "HOSPITAL", "DOCTOR", "LAB", "IMAGING", "DENTIST")
_CHUNK = 250_000


def care_pair_expected(lines: pd.DataFrame, *, robust_quantile: float = 0.999) -> np.ndarray:
    """Expected shared patients with expensive acts (:func:`detectors.sharing.expected_shared`) of every
    pair of care providers: the comparisons a loop is one of.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    robust_quantile : float
        See :func:`detectors.sharing.expected_shared`.
    """
    exp = lines.loc[lines["expensive"] & lines["provider_type"].isin(_CARE_TYPES)]
    provs = np.sort(exp["provider_id"].astype(str).unique())
    a, b = np.triu_indices(len(provs), 1)
    # The model fitted once; the pairs in chunks: a national year has a few thousand care providers, millions
    # of pairs.
    index, expect = expected_model(exp, robust=True, robust_quantile=robust_quantile)
    at = index.get_indexer(provs)
    return np.concatenate([np.zeros(0)] + [expect(at[a[i:i + _CHUNK]], at[b[i:i + _CHUNK]])
                                           for i in range(0, len(a), _CHUNK)])


def referral_loops(lines: pd.DataFrame, *, min_patients: int = 3, min_lift: float = 3.0,
                   max_providers: int = 8, min_doctor_share: float = 0.1, min_doctor_acts: int = 2,
                   robust_quantile: float = 0.999, min_edge_surprise: float = 0.0,
                   dispersion: float = 2.0) -> list[dict[str, Any]]:
    """Small sets of providers that operate on the same patients, and the doctors who do it.

    Only expensive lines (surgery, stays, top-decile amounts) count: a patient with a
    consultation in one clinic and a test in another is ordinary; one operated on in
    two or three clinics within weeks is what a kickback loop bills. Providers are
    linked when at least ``min_patients`` patients had expensive acts at both, with a
    lift over chance of at least ``min_lift``; connected sets (split deterministically
    down to ``max_providers``) are the loops. A loop's doctors are those attending at
    least ``min_doctor_share`` of its moved patients' expensive lines, and ``min_doctor_acts`` of them.
    In a set of three or more providers, a provider none of whose links in it is surprising by itself
    (negative binomial tail of its shared patients against the expected, shape ``dispersion``, below
    ``min_edge_surprise``) is left out, unless that leaves fewer than two: a clinic of the neighbourhood
    sharing three patients with one clinic of a loop is not in the loop.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    min_patients : int
    min_lift : float
    max_providers : int
    min_doctor_share : float
    min_doctor_acts : int
    robust_quantile : float
        See :func:`detectors.sharing.expected_shared`.
    min_edge_surprise : float
        0 keeps every provider of a connected set.
    dispersion : float
        Shape of the negative binomial tail of a link's shared patients.

    Returns
    -------
    list of dict
        ``providers``, ``doctors`` (sorted), ``patients`` (moved: expensive acts at two
        or more of the providers), ``lift`` (mean, against the patients' home regions),
        ``amount`` (of those lines), ``expected`` (moved patients the links' home regions
        predict), ``links`` (each link's shared patients and expected count), ``n_pairs``
        (provider pairs that could have formed a link), ``score`` (moved x log(1 + lift),
        the order of nomination).
    """
    exp = lines.loc[lines["expensive"] & lines["provider_type"].isin(_CARE_TYPES)]
    if exp.empty:
        return []
    proj = with_local_lift(provider_projection(exp, min_shared=min_patients), exp, robust=True,
                           robust_quantile=robust_quantile)
    proj = proj[proj["local_lift"] >= min_lift]
    expected = {(str(a), str(b)): e for a, b, e in proj[["provider_a", "provider_b", "local_expected"]].itertuples(
        index=False)}
    n_care = exp["provider_id"].nunique()
    G = nx.Graph()
    for a, b, shared, li in proj[["provider_a", "provider_b", "shared_patients", "local_lift"]].itertuples(
            index=False):
        G.add_edge(str(a), str(b), shared=int(shared), lift=float(li))
    out = []
    for comp in split_by_shared(G, max_providers):
        if min_edge_surprise > 0 and len(comp) > 2:
            comp = _strongly_tied(G.subgraph(comp), expected, min_edge_surprise, dispersion) or comp
        sub = exp[exp["provider_id"].isin(comp)]
        seen = sub.groupby("beneficiary_id")["provider_id"].nunique()
        moved = sorted(seen[seen >= 2].index)
        if len(moved) < min_patients:
            continue
        mlines = sub[sub["beneficiary_id"].isin(set(moved))]
        docs = mlines.groupby("doctor_id").size()
        docs = sorted(docs[docs >= max(min_doctor_acts, min_doctor_share * len(mlines))].index)
        lifts = [d["lift"] for _, _, d in G.subgraph(comp).edges(data=True)]
        lift = float(np.mean(lifts))
        # Moved patients against what the loop's links predict from the patients' home regions.
        exp_moved = sum(expected.get((min(a, b), max(a, b)), 0.0) for a, b in G.subgraph(comp).edges())
        links = sorted((d["shared"], expected.get((min(a, b), max(a, b)), 0.0))
                       for a, b, d in G.subgraph(comp).edges(data=True))
        out.append({"providers": sorted(comp), "doctors": docs, "patients": moved, "lift": lift,
                    "amount": float(mlines["amount_claimed"].sum()), "expected": float(exp_moved), "links": links,
                    "n_pairs": n_care * (n_care - 1) // 2,
                    "score": float(len(moved) * np.log1p(lift))})
    return sorted(out, key=lambda c: (-c["score"], c["providers"]))


def _strongly_tied(sub: nx.Graph, expected: dict, min_surprise: float, dispersion: float) -> set:
    """The providers of ``sub`` with at least one link whose shared patients are surprising by themselves
    (empty when fewer than two are)."""
    edges = list(sub.edges(data=True))
    shared = np.array([d["shared"] for _, _, d in edges], dtype=float)
    mu = np.array([expected.get((min(a, b), max(a, b)), 0.0) for a, b, _ in edges], dtype=float)
    strong = np.atleast_1d(count_surprise(shared, mu, dispersion=dispersion)) >= min_surprise
    kept = {n for (a, b, _), ok in zip(edges, strong) if ok for n in (a, b)}
    return kept if len(kept) >= 2 else set()


class LoopDetector(Detector):
    """Referral loops: a few providers operating on the same patients, and their doctors.

    Parameters
    ----------
    min_patients : int
        Fewest patients with expensive acts at both providers of a link.
    min_lift : float
        Lift over chance of a link.
    max_providers : int
        Largest loop, in providers.
    min_doctor_share : float
        Share of the loop's expensive lines a doctor must attend to be in it.
    dispersion : float
        Shape of the negative binomial tail of patients with expensive acts shared by providers.
    min_doctor_acts : int
        Fewest of those lines a doctor must attend to be in it.
    robust_quantile : float
        Poisson quantile a pair's shared count is capped at while scaling the expectation.
    min_edge_surprise : float
        Surprise of its own shared patients one of a provider's links must reach for it to stay in a loop of
        three or more providers.
    """

    name = "loops"

    def __init__(
        self,
        min_patients: int = default("loops.min_patients"),
        min_lift: float = default("loops.min_lift"),
        max_providers: int = default("loops.max_providers"),
        min_doctor_share: float = default("loops.min_doctor_share"),
        dispersion: float = default("loops.dispersion"),
        min_doctor_acts: int = default("loops.min_doctor_acts"),
        robust_quantile: float = default("loops.robust_quantile"),
        min_edge_surprise: float = default("loops.min_edge_surprise"),
    ):
        self.min_patients = min_patients
        self.min_lift = min_lift
        self.max_providers = max_providers
        self.min_doctor_share = min_doctor_share
        self.dispersion = dispersion
        self.min_doctor_acts = min_doctor_acts
        self.robust_quantile = robust_quantile
        self.min_edge_surprise = min_edge_surprise

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        loops = referral_loops(context.lines, min_patients=self.min_patients, min_lift=self.min_lift,
                               max_providers=self.max_providers, min_doctor_share=self.min_doctor_share,
                               min_doctor_acts=self.min_doctor_acts, robust_quantile=self.robust_quantile,
                               min_edge_surprise=self.min_edge_surprise, dispersion=self.dispersion)
        if loops:
            # Against every pair of care providers that could have shown as many moved patients (one call: the
            # pairs' expectations are read once for all loops). The loop's moved patients against the sum of its
            # links' expectations, or its strongest link alone, whichever is more surprising: a diluted loop
            # hides two very unlikely links behind one its neighbourhood half explains.
            among = care_pair_expected(context.lines, robust_quantile=self.robust_quantile)
            surprises = np.atleast_1d(count_surprise(np.array([len(r["patients"]) for r in loops]),
                                                     np.array([r["expected"] for r in loops]),
                                                     dispersion=self.dispersion, among=among))
            owner = np.repeat(np.arange(len(loops)), [len(r["links"]) for r in loops])
            links = np.array([link for r in loops for link in r["links"]], dtype=float).reshape(-1, 2)
            strongest = np.full(len(loops), -np.inf)
            if len(links):
                np.maximum.at(strongest, owner, np.atleast_1d(count_surprise(
                    links[:, 0], links[:, 1], dispersion=self.dispersion, among=among)))
            for r, value, link in zip(loops, surprises, strongest):
                r["score"] = float(max(value, link))
        scores, groups = [], []
        for r in loops:
            gid = "loops-" + "+".join(r["providers"])
            ev = (f"{len(r['patients'])} patients had surgery or stays at two or more of {len(r['providers'])} "
                  f"providers where {r['expected']:.1f} were expected from where they live")
            for p in r["providers"]:
                groups.append((gid, "PROVIDER", p, "loop_provider", r["score"], ev))
                scores.append(("PROVIDER", p, r["score"], ev, r["amount"]))
            for d in r["doctors"]:
                dev = f"operates on patients moved between the {len(r['providers'])} providers of the loop"
                groups.append((gid, "DOCTOR", d, "loop_doctor", r["score"], dev))
                scores.append(("DOCTOR", d, r["score"], dev, 0.0))
            for b in r["patients"]:
                groups.append((gid, "BENEFICIARY", b, "looped_patient", r["score"],
                               f"had expensive acts at several providers of loop {gid}"))
        return scores, groups, {"loops": len(loops)}
