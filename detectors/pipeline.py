"""One detection run: context, every detector, rings, entity scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from detectors.base import build_context
from detectors.findings import Findings
from detectors.registry import all_detectors
from detectors.rings import assemble_rings, entity_suspicion

__all__ = ["DetectionResult", "detect", "summarise", "ENTITY_SCORE_COLUMNS"]

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


def detect(claims: pd.DataFrame, *, seed: int = 42, max_rings: int = 200, providers: pd.DataFrame | None = None,
           louvain_engine: str = "auto", exclude: tuple[str, ...] = ()) -> DetectionResult:
    """Run every detector on ``claims`` and assemble the rings.

    Parameters
    ----------
    claims : DataFrame
        Claims per the claims contract.
    seed : int
        Same seed, same result.
    max_rings : int
        Most rings kept.
    providers : DataFrame, optional
        The providers table.
    louvain_engine : {"python-louvain", "igraph", "auto"}
    exclude : tuple of str
        Detector names left out (ablations).

    Returns
    -------
    DetectionResult
    """
    context = build_context(claims, providers=providers)
    detectors = all_detectors(seed, louvain_engine=louvain_engine, exclude=exclude)
    findings = [d.fit(claims, context=context) for d in detectors]
    params = {"seed": seed, "max_rings": max_rings, "louvain_engine": louvain_engine, "exclude": list(exclude),
              "detectors": {d.name: d.get_params() for d in detectors}}
    return summarise(findings, claims, lines=context.lines, max_rings=max_rings, params=params)


def summarise(findings: list[Findings], claims: pd.DataFrame, *, lines: pd.DataFrame | None = None,
              max_rings: int = 200, params: dict[str, Any] | None = None) -> DetectionResult:
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

    Returns
    -------
    DetectionResult
    """
    rings, members = assemble_rings(findings, claims, max_rings=max_rings, lines=lines)
    scores = entity_suspicion(findings)
    scores = scores[scores["entity_type"].isin(("PROVIDER", "DOCTOR", "INTERMEDIARY"))]
    stats: dict[str, Any] = {f.detector: dict(f.stats) for f in findings}
    stats["claim_lines"] = len(claims)
    return DetectionResult(rings, members, scores[ENTITY_SCORE_COLUMNS].reset_index(drop=True), list(findings),
                           params or {}, stats)
