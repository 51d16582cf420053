"""One detection run: context, every detector, rings, entity scores."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from detectors.base import build_context
from detectors.calibration import entity_ranking
from detectors.config import DetectionConfig
from detectors.findings import Findings
from detectors.registry import all_detectors
from detectors.rings import assemble_rings
from ingest.encode import release_unused_memory

__all__ = ["DetectionResult", "detect", "summarise", "ENTITY_SCORE_COLUMNS", "StepHook"]

#: Called with a step's name ("context", each detector's name, "rings"); the step runs inside
#: the context manager it returns, so a caller can time it or measure its memory.
StepHook = Callable[[str], AbstractContextManager]

ENTITY_SCORE_COLUMNS = ["entity_type", "entity_id", "score", "top_reason"]


@dataclass
class DetectionResult:
    """What a run found: ranked rings, their members, every entity's score, the raw findings."""

    rings: pd.DataFrame
    members: pd.DataFrame
    entity_scores: pd.DataFrame
    findings: list[Findings]
    params: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    intermediaries: Any = None


def detect(claims: pd.DataFrame, *, seed: int = 42, max_rings: int = 200,
           louvain_engine: str = "auto", exclude: tuple[str, ...] = (),
           config: DetectionConfig | None = None, step: StepHook | None = None) -> DetectionResult:
    """Run every detector on ``claims`` and assemble the rings.

    Parameters
    ----------
    claims : DataFrame
        Claims per the claims contract.
    seed : int
        Same seed, same result.
    max_rings : int
        Most rings kept.
    louvain_engine : {"python-louvain", "igraph", "leiden", "auto"}
    exclude : tuple of str
        Detector names left out (ablations).
    config : DetectionConfig, optional
        Every threshold (default: the declared defaults); recorded whole in
        ``params["config"]``, and the intermediary inference's in ``params["intermediaries"]``.
    step : callable, optional
        :data:`StepHook` wrapped around each step (the bench measures them with it).

    Returns
    -------
    DetectionResult
    """
    config = config or DetectionConfig()
    step = step or (lambda name: nullcontext())
    # Each step's freed temporaries go back to the system before the next step: the window's peak is
    # one step's, not the sum of what every step's allocator kept.
    with step("context"):
        context = build_context(claims, config=config)
        release_unused_memory()
    detectors = all_detectors(seed, louvain_engine=louvain_engine, exclude=exclude, config=config)
    findings = []
    for d in detectors:
        with step(d.name):
            findings.append(d.fit(claims, context=context))
            release_unused_memory()
    params = {"seed": seed, "max_rings": max_rings, "louvain_engine": louvain_engine, "exclude": list(exclude),
              "detectors": {d.name: d.get_params() for d in detectors}, "config": config.as_dict(),
              "intermediaries": config.section("intermediaries")}
    with step("rings"):
        result = summarise(findings, claims, lines=context.lines, max_rings=max_rings, params=params, config=config)
    result.intermediaries = context.intermediaries
    return result


def summarise(findings: list[Findings], claims: pd.DataFrame, *, lines: pd.DataFrame | None = None,
              max_rings: int = 200, params: dict[str, Any] | None = None,
              config: DetectionConfig | None = None) -> DetectionResult:
    """Rings and entity scores from detectors' findings (used by :func:`detect` and for ablations).

    Parameters
    ----------
    findings : list of Findings
    claims : DataFrame
    lines : DataFrame, optional
        ``DetectionContext.lines`` when already computed.
    max_rings : int
    params : dict, optional
        Recorded as the result's parameters.
    config : DetectionConfig, optional
        Its ``rings`` section sets the ring rules.

    Returns
    -------
    DetectionResult
    """
    config = config or DetectionConfig()
    rings, members = assemble_rings(findings, claims, max_rings=max_rings, lines=lines, config=config)
    # Louvain communities and the support-only detectors never make a ring alone: nor an entity's score.
    support = {"communities", *config.names("rings.support_only")}
    scores = _with_rings(entity_ranking(findings, support_only=support), rings, members)
    stats: dict[str, Any] = {f.detector: dict(f.stats) for f in findings}
    stats["claim_lines"] = len(claims)
    return DetectionResult(rings, members, scores[ENTITY_SCORE_COLUMNS].reset_index(drop=True), list(findings),
                           params or {}, stats)


def _with_rings(suspicion: pd.DataFrame, rings: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Raise each entity's surprise to that of the best ring it is a member of.

    Being a member of a ring assembled by the rules is evidence on its own: a lab with
    ordinary indicators that every patient of a funnel passes through ranks with the ring.
    Both are surprises (one scale), so the larger is kept.
    """
    kinds = ("PROVIDER", "DOCTOR", "INTERMEDIARY")
    out = suspicion[suspicion["entity_type"].isin(kinds)].copy()
    m = members[members["entity_type"].isin(kinds)].merge(rings[["ring_id", "rank", "score"]]
                                                          .rename(columns={"score": "ring_score"}), on="ring_id")
    if m.empty:
        return out
    best = m.sort_values(["rank"], kind="mergesort").drop_duplicates(["entity_type", "entity_id"])
    best = best.set_index(["entity_type", "entity_id"])
    out = out.set_index(["entity_type", "entity_id"]).reindex(
        out.set_index(["entity_type", "entity_id"]).index.union(best.index))
    out["score"] = out["score"].fillna(0.0)
    hit = out.index.isin(best.index)
    ring_of = best.reindex(out.index[hit])
    own = out.loc[hit, "score"].to_numpy(float)
    ring_score = ring_of["ring_score"].to_numpy(float)
    raised = ring_score > own
    out.loc[hit, "score"] = np.maximum(own, ring_score)
    reasons = out.loc[hit, "top_reason"].to_numpy(object).copy()
    for i, (role, rid, rank, ev) in enumerate(zip(ring_of["role"], ring_of["ring_id"], ring_of["rank"],
                                                    ring_of["evidence"])):
        if raised[i]:
            reasons[i] = f"member ({role}) of ring {rid} ranked {int(rank)}: {ev}"
    out.loc[hit, "top_reason"] = reasons
    out = out.reset_index()
    return out.sort_values(["score", "entity_type", "entity_id"], ascending=[False, True, True],
                           kind="mergesort").reset_index(drop=True)
