"""Training the learned ranker on the stored outcomes, and using it in a run.

:func:`learn` runs detection over a window of the claims store (as the weekly run
does), turns the outcomes into labels, measures the ranker by grouped
cross-validation against the same run's unsupervised score, trains it on every
label and stores it as a versioned model. :func:`apply_model` re-ranks a run's
rings and entity scores with the newest model. Outcomes are read here only: the
unsupervised detectors never see them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ground import __version__
from ground.settings import Settings
from casework.audit import AuditLog
from casework.models import ModelStore
from casework.outcomes import OutcomeStore
from detectors.config import load_detection_config
from detectors.features import FEATURES, entity_features, entity_key, ring_groups
from detectors.learned import (
    MODEL_PARAMS, NEIGHBOUR_FEATURES, TreeModel, cross_validate, enough_outcomes, entity_labels, export_model,
    neighbour_outcomes, outcome_hashes, rerank, train_model,
)
from detectors.pipeline import detect
from ground.errors import NotFound
from ingest.store import ClaimsStore
from casework.runs import RunStore

__all__ = ["learn", "LearnResult", "apply_model", "latest_model_version", "EXIT_TRAINED", "EXIT_NOT_ENOUGH"]

log = logging.getLogger("shabaka.learn")

#: ``shabaka learn`` exit codes: a model was trained; too few outcomes, nothing trained.
EXIT_TRAINED, EXIT_NOT_ENOUGH = 0, 3


@dataclass
class LearnResult:
    """What ``shabaka learn`` did; ``to_dict`` is its JSON."""

    trained: bool
    message: str
    n_outcomes: int
    n_positive: int
    window_from: str | None
    window_to: str | None
    version: str | None = None
    auc: float | None = None
    ap: float | None = None
    precision_at_k: float | None = None
    k: int | None = None
    baseline_auc: float | None = None
    baseline_ap: float | None = None
    baseline_precision_at_k: float | None = None
    report: dict[str, Any] = field(default_factory=dict)
    top_features: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_TRAINED if self.trained else EXIT_NOT_ENOUGH

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def learn(settings: Settings, *, start: str | None = None, end: str | None = None,
          actor: str = "cli") -> LearnResult:
    """Train and store the learned ranker on the outcomes known for the claims of a window.

    Parameters
    ----------
    settings : Settings
        Home, seed, detection settings.
    start, end : str, optional
        First and last service dates (YYYY-MM-DD); default the whole store.
    actor : str
        Written to the audit log.

    Returns
    -------
    LearnResult
        ``trained`` False (exit code 3) when there are fewer outcomes than
        :data:`detectors.learned.MIN_OUTCOMES`: nothing is stored then.
    """

    claims, result, feats = _detect(settings, start, end)
    if claims.empty:
        raise NotFound(f"no claims in {settings.home_path} between {start or 'the start'} and {end or 'the end'}")
    outcomes, y = _labels(settings, result, feats.table.index)
    window = (start or claims["service_date"].min().date().isoformat(),
              end or claims["service_date"].max().date().isoformat())
    missing = enough_outcomes(y)
    if missing is not None:
        log.info("learn: %d labelled entities, not enough to train", len(y))
        return LearnResult(False, missing, len(y), int(y.sum()), *window)
    groups = ring_groups(feats.table.index, result.members)
    X = feats.table.loc[y.index].copy()
    X[list(NEIGHBOUR_FEATURES)] = neighbour_outcomes(feats.edges, X.index, y, groups)
    report, _ = cross_validate(X, y, groups.reindex(X.index), X["unsupervised_score"], edges=feats.edges,
                               seed=settings.seed)
    clf = train_model(X, y, seed=settings.seed)
    doc = export_model(clf, list(X.columns), X)
    used = outcomes[outcomes["used"]]
    doc.update({
        "format": "shabaka-learned-ranker/1", "software": __version__, "window": list(window),
        "params": {**MODEL_PARAMS, "random_state": settings.seed, "model": "HistGradientBoostingClassifier",
                   "detection": {"seed": settings.seed, "max_rings": settings.max_rings,
                                 "louvain_engine": settings.louvain_engine}},
        "outcomes": {"n": len(y), "n_positive": int(y.sum()), "n_rows": len(used), "hashes": outcome_hashes(used)},
        "report": report.to_dict(),
    })
    with ModelStore(settings.home_path) as models:
        version = models.save(doc)
    importance = _importance(TreeModel(doc), X)
    with AuditLog(settings.home_path) as audit:
        audit.append(actor, "learn", {"version": version, "n_outcomes": len(y), "auc": report.auc,
                                      "baseline_auc": report.baseline_auc, "window": list(window)})
    log.info("learn: model %s trained on %d labelled entities, CV AUC %.3f (unsupervised %.3f)", version,
             len(y), report.auc, report.baseline_auc)
    return LearnResult(True, f"model {version} trained on {len(y)} labelled entities", len(y), int(y.sum()),
                       *window, version=version, auc=report.auc, ap=report.ap,
                       precision_at_k=report.precision_at_k, k=report.k, baseline_auc=report.baseline_auc,
                       baseline_ap=report.baseline_ap, baseline_precision_at_k=report.baseline_precision_at_k,
                       report=report.to_dict(), top_features=importance)


def latest_model_version(settings: Settings) -> str | None:
    """The newest stored model's version, or None.

    Parameters
    ----------
    settings
        Settings naming the Shabaka home.
    """

    with ModelStore(settings.home_path) as models:
        return models.latest_version()


def apply_model(settings: Settings, version: str, claims: pd.DataFrame, result) -> None:
    """Re-rank ``result``'s rings and entity scores with a stored model, in place.

    The model file is checked against its recorded SHA-256 first. The unsupervised
    ``score`` columns stay; ``learned_score``, ``learned_reasons`` (and for rings
    ``unsupervised_rank`` and ``model_version``) are added, and ``rank`` follows the
    learned score.

    Parameters
    ----------
    settings
        Settings naming the Shabaka home.
    version
        The stored model's version.
    claims
        The claims the run detected on.
    result
        The run's detection result, changed in place.
    """

    with ModelStore(settings.home_path) as models:
        model = TreeModel(models.load(version))
    feats = entity_features(claims, result)
    _, y = _labels(settings, result, feats.table.index)
    groups = ring_groups(feats.table.index, result.members)
    X = feats.table.copy()
    X[list(NEIGHBOUR_FEATURES)] = neighbour_outcomes(feats.edges, X.index, y, groups)
    result.rings, result.entity_scores = rerank(result.rings, result.members, result.entity_scores, model, X,
                                                version)


def _detect(settings: Settings, start: str | None, end: str | None):

    with ClaimsStore(settings.home_path) as store:
        claims = store.claims(start, end)
    if claims.empty:
        return claims, None, None
    # The weekly run's detection, so the features the model learns are those it is applied to.
    result = detect(claims, seed=settings.seed, max_rings=settings.max_rings,
                    louvain_engine=settings.louvain_engine,
                    config=load_detection_config(settings.detection_config))
    return claims, result, entity_features(claims, result)


def _labels(settings: Settings, result, keys: pd.Index) -> tuple[pd.DataFrame, pd.Series]:
    """Every outcome (``used`` True when it labels an entity of ``keys``), and the labels of ``keys``."""

    with OutcomeStore(settings.home_path) as store:
        outcomes = store.outcomes()
    members = result.members
    wanted = set(outcomes.loc[outcomes["entity_type"] == "RING", "entity_id"]) - set(members["ring_id"])
    if wanted:
        # A ring decided on in an earlier run: its members as that run recorded them.
        with RunStore(settings.home_path) as runs:
            extra = []
            for run_id in runs.runs()["run_id"]:
                if not wanted:
                    break
                m = runs.members(run_id)
                m = m[m["ring_id"].isin(wanted)]
                extra.append(m)
                wanted -= set(m["ring_id"])
        members = pd.concat([members, *extra], ignore_index=True)
    y = entity_labels(outcomes, members)
    y = y[y.index.isin(keys)]
    direct = entity_key(outcomes["entity_type"], outcomes["entity_id"]).isin(y.index)
    ring_rows = outcomes["entity_type"].eq("RING") & outcomes["entity_id"].isin(
        set(members.loc[entity_key(members["entity_type"], members["entity_id"]).isin(y.index), "ring_id"]))
    return outcomes.assign(used=(direct | ring_rows).to_numpy()), y


def _importance(model, X: pd.DataFrame, top: int = 10) -> list[dict[str, Any]]:
    """Mean absolute contribution of each feature over the training entities, largest first."""

    contrib, _ = model.contributions(X)
    mean = contrib.abs().mean().sort_values(ascending=False, kind="mergesort").head(top)
    return [{"feature": name, "mean_abs_contribution": round(float(v), 4),
             "meaning": re.sub(r"\{v[^}]*\}", "N", FEATURES.get(name, name))} for name, v in mean.items()]
