"""Every detector of a run, in one list."""

from __future__ import annotations

from detectors.base import Detector
from detectors.centrality import CentralityDetector
from detectors.coefficients import CoefficientDetector
from detectors.communities import CommunityDetector
from detectors.config import DetectionConfig
from detectors.cores import CoreDetector
from detectors.funnels import FunnelDetector
from detectors.indicators import IndicatorDetector
from detectors.loops import LoopDetector
from detectors.mills import MillDetector
from detectors.phantoms import PhantomDetector
from detectors.pharmacy import PharmacyRingDetector

__all__ = ["all_detectors", "DETECTOR_NAMES"]

#: Names of the detectors :func:`all_detectors` returns, in order.
DETECTOR_NAMES: tuple[str, ...] = (
    "indicators", "communities", "centrality", "funnels", "cores", "loops", "phantoms", "pharmacy_rings", "mills",
    "coefficients",
)


def all_detectors(seed: int = 42, *, louvain_engine: str = "auto", exclude: tuple[str, ...] = (),
                  config: DetectionConfig | None = None) -> list[Detector]:
    """One instance of every detector, with the parameters of ``config`` (default: every declared default).

    Parameters
    ----------
    seed : int
        Given to the detectors that draw random numbers (Louvain, sampled betweenness).
    louvain_engine : {"python-louvain", "igraph", "leiden", "auto"}
    exclude : tuple of str
        Detector names left out (for ablations).
    config : DetectionConfig, optional
        Each detector takes the section of its name.

    Returns
    -------
    list of Detector
    """
    c = config or DetectionConfig()
    detectors: list[Detector] = [
        IndicatorDetector(**c.section("indicators")),
        CommunityDetector(seed=seed, louvain_engine=louvain_engine, **c.section("communities")),
        CentralityDetector(seed=seed, **c.section("centrality")),
        FunnelDetector(**c.section("funnels")),
        CoreDetector(**c.section("cores")),
        LoopDetector(**c.section("loops")),
        PhantomDetector(**c.section("phantoms")),
        PharmacyRingDetector(**c.section("pharmacy_rings")),
        MillDetector(**c.section("mills")),
        CoefficientDetector(**c.section("coefficients")),
    ]
    return [d for d in detectors if d.name not in exclude]
