"""Every detection threshold, declared once: name, default, help.

A :class:`DetectionConfig` holds one value per declared :class:`Parameter`
(``section.name``: the line flags, the intermediary inference, each detector,
the ring rules). Detector classes take their ``__init__`` defaults from here,
:func:`detectors.pipeline.detect` records the whole configuration in each run's
parameters (and so in every evidence bundle), and docs/detectors.md lists every
parameter (a test fails when one is missing).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ground.errors import ConfigError

__all__ = ["Parameter", "PARAMETERS", "DetectionConfig", "default", "load_detection_config"]


@dataclass(frozen=True)
class Parameter:
    """One declared detection threshold."""

    section: str
    name: str
    default: Any
    help: str

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


def _p(section: str, name: str, value: Any, help: str) -> Parameter:
    return Parameter(section, name, value, help)


PARAMETERS: tuple[Parameter, ...] = (
    # Line flags computed once per run (DetectionContext.lines).
    _p("lines", "expensive_quantile", 0.9,
       "A line is 'expensive' when it is surgery or a stay, or its amount is at least this quantile of its act family"),
    _p("lines", "expensive_min_amount", 1000.0,
       "... and above this amount (MAD): a top-decile consultation is not expensive"),
    _p("lines", "ald_drug_share", 0.5,
       "A medication is an 'ALD drug' when at least this share of its known patients have an ALD"),
    _p("lines", "ald_drug_lift", 2.0,
       "... and at least this many times the share of ALD patients among all known patients (an act is chronic "
       "care only if its patients have an ALD markedly more often than the insured in general)"),
    _p("lines", "public_types", "HOSPITAL",
       "Provider types that treat referred Tadamon patients by design (public hospitals, comma-separated): "
       "never a funnel's destination nor a phantom biller"),
    # Intermediary inference (graph.intermediaries.infer_intermediaries).
    _p("intermediaries", "min_households", 3,
       "Fewest households an identifier must join to link them, and an intermediary must have"),
    _p("intermediaries", "max_households", 60,
       "A phone, account or referrer used by more households is public and links nothing"),
    _p("intermediaries", "max_point_households", 25,
       "Same cap for submission points: only a small point says anything"),
    _p("intermediaries", "min_score", 0.0, "Intermediaries scoring below are dropped"),
    _p("intermediaries", "require_contact", True,
       "Keep only groups tied by at least one phone, account or referrer"),
    _p("intermediaries", "min_shared", 2,
       "Fewest households writing two identifiers for them to belong to one intermediary"),
    _p("intermediaries", "min_overlap", 0.25,
       "... and the share of the less used identifier's households they must make"),
    _p("intermediaries", "split_destinations", True,
       "Split a group whose households form separate destination cohorts"),
    # Detectors.
    _p("indicators", "min_lines", 5, "Entities with fewer claim lines are not scored"),
    _p("indicators", "min_peers", 8, "Smallest peer group (type x region); smaller ones fall back to type alone"),
    _p("indicators", "cap", 12.0, "Cap on each indicator's robust z-score"),
    _p("indicators", "size_band_base", 2.0,
       "Volumes are compared within size bands: 1 + floor(log in this base of the doctors working on the "
       "provider's premises)"),
    # Smallest between-peer spread of each indicator (on the scale it is compared on): a z needs at
    # least this deviation per unit, so a peer group that happens to agree closely does not make
    # every small difference extreme.
    _p("indicators", "min_scale_visits_per_beneficiary", 0.25, "Smallest peer spread of dossiers per patient"),
    _p("indicators", "min_scale_amount_per_beneficiary", 0.1,
       "Smallest peer spread of the log amount claimed per patient"),
    _p("indicators", "min_scale_quantity_per_stay", 0.5, "Smallest peer spread of units billed per stay line"),
    _p("indicators", "min_scale_revenue_growth", 0.25, "Smallest peer spread of the recent-weeks amount ratio"),
    _p("indicators", "min_scale_expensive_growth", 0.25,
       "Smallest peer spread of the recent-weeks surgeries and stays ratio"),
    _p("indicators", "min_scale_non_ald_ald_drugs", 0.05,
       "Smallest peer spread of the share of medication lines that are ALD drugs for non-ALD patients"),
    _p("indicators", "min_scale_surgery_without_consultation", 0.05,
       "Smallest peer spread of the share of surgeries with no prior consultation"),
    _p("indicators", "min_scale_far_tadamon_expensive", 0.05,
       "Smallest peer spread of the share of amount on far Tadamon patients' expensive acts"),
    _p("indicators", "min_scale_volume", 0.25, "Smallest peer spread of the log number of dossiers"),
    _p("communities", "n_seeds", 3, "Louvain partitions compared for stability"),
    _p("communities", "min_lift", 2.0, "Suspicion-graph edges need at least this lift over chance"),
    _p("communities", "min_shared", 2, "... and at least this many suspicious shared patients"),
    _p("communities", "min_stability", 0.6, "Less stable communities are not nominated"),
    _p("communities", "max_size", 40, "Larger communities are geography, not rings"),
    _p("centrality", "k", 200, "Betweenness sample size"),
    _p("centrality", "cap", 12.0, "Cap on each centrality z-score"),
    _p("centrality", "min_suspicious", 1, "Suspicious lines a doctor/intermediary-provider link needs"),
    _p("funnels", "min_beneficiaries", 3, "Smallest number of an intermediary's beneficiaries with claims"),
    _p("funnels", "min_share", 0.2, "Share of the patients' amount that makes a provider or doctor a destination"),
    _p("funnels", "min_patient_share", 0.5,
       "Share of the patients seen at a provider that also makes it a destination (the lab they all pass through)"),
    _p("funnels", "min_score", 2.0, "Funnels scoring below are scored but not nominated (unless funnels.min_surprise)"),
    _p("funnels", "min_surprise", 3.0,
       "Surprise of the patients who came from another region to a funnel's top destination, against how "
       "their regions choose providers, that nominates one tied by a phone or payee account whatever its score (camouflaged cohorts spread "
       "over days and destinations)..."),
    _p("funnels", "min_tadamon_share", 0.5,
       "... when at least this share of its patients' lines are Tadamon (an NGO caravan brings villagers of "
       "every regime)"),
    _p("funnels", "min_cohort", 3, "Patients of an intermediary seen at a destination the same day that make a cohort"),
    _p("funnels", "doctor_score_share", 0.5,
       "Share of the patients' amount a destination doctor must receive to take the funnel's score (others are "
       "listed in the ring only)"),
    _p("funnels", "campaign_days", 7, "A declared campaign's window: first visits from one day to this many days after it"),
    _p("funnels", "campaign_share", 0.8,
       "An intermediary tied only by a declared referrer or a submission point (no shared phone or payee account), "
       "or declared by most of its households (funnels.campaign_declared_share), with at least this share of its "
       "patients first reaching its destinations within funnels.campaign_days is one declared campaign (an NGO "
       "caravan screening a commune, then operating some within days): scored 0, never nominated"),
    _p("funnels", "campaign_declared_share", 0.8,
       "Share of an intermediary's households that wrote one declared referrer that makes it declared whatever "
       "else ties it (villagers of a caravan sharing a village phone)"),
    _p("cores", "min_lift", 3.0, "Core edges need at least this lift over chance"),
    _p("cores", "min_shared", 3, "... and at least this many suspicious shared patients"),
    _p("cores", "max_size", 12, "Largest core, in providers"),
    _p("cores", "max_degree", 30, "Providers linked to more providers are hubs, left out of cores"),
    _p("cores", "min_score", 3.0, "Cores scoring below are not nominated"),
    _p("loops", "min_patients", 3, "Fewest patients with expensive acts at both providers of a link"),
    _p("loops", "min_lift", 3.0, "Lift over chance of a loop link"),
    _p("loops", "max_providers", 8, "Largest loop, in providers"),
    _p("loops", "min_doctor_share", 0.1, "Share of the loop's expensive lines a doctor must attend to be in it"),
    _p("loops", "dispersion", 2.0,
       "Shape of the negative binomial tail of patients with expensive acts two providers share "
       "(maximum likelihood on the fraud-free tuning worlds: 2.1)"),
    _p("loops", "min_doctor_acts", 2, "... and at least this many of those lines"),
    _p("loops", "robust_quantile", 0.999,
       "Poisson quantile each provider pair's shared count is capped at while scaling the expected sharing of "
       "expensive acts (a few rings are most of what surgery providers share)"),
    _p("loops", "min_edge_surprise", 2.0,
       "In a loop of three or more providers, a provider none of whose links is surprising by itself (negative "
       "binomial tail of its shared patients against the expected, shape loops.dispersion) below this is left out"),
    _p("phantoms", "min_age", 60, "Age from which a patient counts as elderly"),
    _p("phantoms", "min_traits", 3,
       "Phantom traits (of five: far, elderly, seen nowhere else, no prior consultation, Tadamon) a patient "
       "needs; the first three always (a fabricated consultation or another regime hides the last two)"),
    _p("phantoms", "screening_cohort", 10,
       "Patients of one home region a doctor consulted on one day that make a screening (a health campaign in a "
       "commune): the operated patients among them consulted by that doctor before the operation are not "
       "phantom-like (a fabricated consultation is written alone)"),
    _p("phantoms", "min_phantoms", 3, "Fewest phantom-like patients for a provider to be nominated"),
    _p("phantoms", "min_surprise", 1.0,
       "Surprise of a provider's phantom-like patients among its patients from another region with surgery or a "
       "stay, against the robust rate of its type, needed to nominate"),
    _p("phantoms", "min_doctor_share", 0.2,
       "Share of the acts billed for a provider's phantom-like patients a doctor must attend to be in its ring"),
    _p("phantoms", "min_doctor_acts", 2, "... and at least this many acts"),
    _p("pharmacy_rings", "min_lines", 5, "Fewest ALD-drug lines for non-ALD patients at the pharmacy"),
    _p("pharmacy_rings", "max_prescribers", 2, "Prescribers kept as the ring's"),
    _p("pharmacy_rings", "min_z", 3.0, "Robust z of the pharmacy's share among pharmacies needed to nominate"),
    _p("pharmacy_rings", "min_concentration", 0.5, "Share of those lines the top prescribers must write"),
    _p("mills", "min_patients", 5, "Fewest patients a doctor sends to a centre for the pair to be scored"),
    _p("mills", "min_z", 5.0, "Robust z of the amount per patient needed to nominate a pair"),
    _p("mills", "min_centre_patients", 15,
       "Fewest patients sent by a centre's nominated pairs to nominate it (of a pair nominated by its heavy "
       "dossiers alone, those patients only)"),
    _p("mills", "heavy_quantile", 0.99,
       "A dossier at a lab or imaging centre is heavy when its amount there reaches this quantile of its "
       "centre type's dossiers"),
    _p("mills", "min_heavy_surprise", 3.0,
       "Surprise of a referral pair's patients with a heavy dossier, against the robust rate among pairs, "
       "that also nominates it (a mean per patient dilutes: ordinary patients hide a dozen over-tested ones)"),
    # The one scale of every score (detectors.calibration).
    _p("calibration", "tail_df", 12.0,
       "Degrees of freedom of the Student t tail read from robust z-scores (0 = normal tail)"),
    _p("calibration", "min_scale", 0.1, "Smallest peer spread of a log-scale statistic (mills' amount per patient)"),
    _p("calibration", "rate_outlier_surprise", 1.0,
       "A robust peer rate (phantom-like patients, heavy lab dossiers) leaves out the peers this surprising at "
       "the current rate, until the set settles"),
    _p("calibration", "sharing_dispersion", 1.0,
       "Shape of the negative binomial tail of shared-patient counts (1 = geometric; larger = less overdispersed)"),
    _p("coefficients", "min_lines", 10,
       "Fewest dossiers with an act of a letter key (K, B, Z...), or stay lines of a stay code, for a provider to "
       "be compared on that key or code"),
    _p("coefficients", "min_peers", 5, "Fewest providers of the type compared on the key or code"),
    _p("coefficients", "tail_quantile", 0.9,
       "An act is in the peers' top tail when its coefficient (or stay days) is above this quantile of the "
       "peers' acts of the key or code; a provider's share of such acts is also compared (the share of "
       "highest-level codes, as controllers read upcoding)"),
    # Ring rules (detectors.rings).
    _p("rings", "max_anchors", 15, "Largest number of providers and doctors in one ring"),
    _p("rings", "min_overlap", 0.5, "Candidates merge when their anchors overlap by this share of the smaller set"),
    _p("rings", "min_shared_anchors", 2,
       "... and hold a provider or at least this many anchors (one doctor shared by a mill and a pharmacy ring "
       "does not tie them)"),
    _p("rings", "support_only", "cores",
       "Detectors whose groups only support a ring found by another (comma-separated): shared patients "
       "beyond what distance predicts are also neighbours, referral clinics and growing practices"),
    _p("rings", "alert_surprise", 1.0,
       "Rings whose surprise is below are not reported: a world without fraud flags none above it"),
)

_BY_KEY: dict[str, Parameter] = {p.key: p for p in PARAMETERS}


def default(key: str) -> Any:
    """The declared default of ``section.name``.

    Parameters
    ----------
    key : str
        ``section.name``.
    """
    return _BY_KEY[key].default


@dataclass(frozen=True)
class DetectionConfig:
    """One value per declared parameter; unknown names are refused.

    Build it with ``DetectionConfig()`` (every default) or
    :meth:`from_mapping` (overrides, nested ``{"cores": {"min_lift": 4}}`` or flat
    ``{"cores.min_lift": 4}``, e.g. as recorded in a run's parameters).
    """

    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = {}
        for key, value in self.overrides.items():
            if key not in _BY_KEY:
                raise ConfigError(f"detection parameter {key!r} is not declared; known: {', '.join(_BY_KEY)}")
            values[key] = _coerce(_BY_KEY[key], value)
        object.__setattr__(self, "overrides", values)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> DetectionConfig:
        """Overrides from a flat or nested mapping (a recorded config reproduces its run).

        Parameters
        ----------
        mapping : mapping, optional
            ``{section: {name: value}}`` or ``{"section.name": value}``.
        """
        flat: dict[str, Any] = {}
        for key, value in (mapping or {}).items():
            if isinstance(value, Mapping):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        return cls({k: v for k, v in flat.items() if k not in _BY_KEY or _BY_KEY[k].default != v})

    def get(self, key: str) -> Any:
        """The value of ``section.name``.

        Parameters
        ----------
        key : str
            ``section.name``.
        """
        if key not in _BY_KEY:
            raise KeyError(key)
        return self.overrides.get(key, _BY_KEY[key].default)

    def names(self, key: str) -> tuple[str, ...]:
        """The names of a comma-separated parameter (``lines.public_types``, ``rings.support_only``).

        Parameters
        ----------
        key : str
            ``section.name``.
        """
        return tuple(t.strip() for t in str(self.get(key)).split(",") if t.strip())

    def section(self, section: str) -> dict[str, Any]:
        """``{name: value}`` of one section (a detector's ``__init__`` keyword arguments).

        Parameters
        ----------
        section : str
        """
        return {p.name: self.get(p.key) for p in PARAMETERS if p.section == section}

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Every value, nested by section: what a run records."""
        out: dict[str, dict[str, Any]] = {}
        for p in PARAMETERS:
            out.setdefault(p.section, {})[p.name] = self.get(p.key)
        return out


def load_detection_config(path: str | Path | None) -> DetectionConfig:
    """The configuration of a TOML file of overrides (``[rings]`` / ``alert_surprise = 1.5``); defaults when empty.

    Parameters
    ----------
    path : path, optional
        The TOML file; None gives the defaults.

    Raises
    ------
    ConfigError
        The file cannot be read or names an undeclared parameter.
    """
    if not path:
        return DetectionConfig()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"detection configuration {path}: {exc}") from None
    return DetectionConfig.from_mapping(data)


def _coerce(param: Parameter, value: Any) -> Any:
    kind = type(param.default)
    try:
        if kind is bool:
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"detection parameter {param.key}: expected {kind.__name__}, got {value!r}") from None
