"""The learned ranker: gradient-boosted trees trained on the fund's inspection outcomes.

Labels: an entity's most recent outcome (confirmed or referred = 1, dismissed = 0);
an outcome about a ring labels the ring's providers, doctors and intermediaries.
Training needs at least :data:`MIN_OUTCOMES` labelled entities, :data:`MIN_PER_CLASS`
of each label; below that nothing is trained and the unsupervised ranking stands alone.

Model: scikit-learn's ``HistGradientBoostingClassifier`` (seeded, no early stopping,
so the same data and seed give the same trees). Its trees are exported to plain data
(:func:`export_model`), predicted by :class:`TreeModel` (checked against scikit-learn's
own probabilities when exported) and explained by path attribution: along the path of a
prediction, each split moves the expected log-odds from the parent's mean value to the
child's (a node's mean is the count-weighted mean of its leaves), and that move is
credited to the split's feature; the contributions plus the bias add up exactly to the
log-odds.

Honesty: quality is measured by grouped cross-validation (scikit-learn's
``StratifiedGroupKFold``): entities of one ring (:func:`detectors.features.ring_groups`)
are never split across folds; the neighbours' outcomes feature of an entity counts only
outcomes of the training folds, never its own group's. The same run's unsupervised score
over the same labelled entities is reported as the baseline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from detectors.evaluate import average_precision, roc_auc
from detectors.features import FEATURES, entity_key

__all__ = ["MIN_OUTCOMES", "MIN_PER_CLASS", "MODEL_PARAMS", "TreeModel", "entity_labels", "outcome_hashes",
           "neighbour_outcomes", "enough_outcomes", "train_model", "export_model", "cross_validate",
           "explain", "precision_at_k", "rerank"]

#: Fewest labelled entities a model is trained on.
MIN_OUTCOMES = 30
#: Fewest labelled entities of each label (fraud found, nothing found).
MIN_PER_CLASS = 8
#: Parameters of the classifier (``random_state`` is the run's seed).
MODEL_PARAMS: dict[str, Any] = {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15,
                                "min_samples_leaf": 5, "l2_regularization": 1.0, "early_stopping": False}
NEIGHBOUR_FEATURES = ("neighbour_positive", "neighbour_negative")
FEATURES.setdefault("neighbour_positive", "{v:.0f} of its neighbours were confirmed or referred")
FEATURES.setdefault("neighbour_negative", "{v:.0f} of its neighbours were dismissed")
_KINDS = ("PROVIDER", "DOCTOR", "INTERMEDIARY")


def entity_labels(outcomes: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    """The label of every entity an outcome speaks about, by ``TYPE:id`` key.

    Parameters
    ----------
    outcomes : DataFrame
        entity_type, entity_id, outcome, decided_on (``casework.outcomes``).
    members : DataFrame
        Ring members of the run (findings contract); a RING outcome labels the
        ring's providers, doctors and intermediaries.

    Returns
    -------
    Series of int
        1 for confirmed or referred, 0 for dismissed; the most recent decision
        wins (on the same day, a positive one).
    """
    if outcomes.empty:
        return pd.Series(dtype=int, name="label")
    o = outcomes.assign(y=outcomes["outcome"].isin(("confirmed", "referred")).astype(int))
    direct = o[o["entity_type"].isin(_KINDS)].assign(key=lambda d: entity_key(d["entity_type"], d["entity_id"]))
    rings = o[o["entity_type"] == "RING"]
    parts = [direct[["key", "decided_on", "y"]]]
    if len(rings) and len(members):
        m = members[members["entity_type"].isin(_KINDS)]
        m = m.assign(key=entity_key(m["entity_type"], m["entity_id"]))[["ring_id", "key"]]
        parts.append(rings.merge(m, left_on="entity_id", right_on="ring_id")[["key", "decided_on", "y"]])
    allo = pd.concat(parts, ignore_index=True)
    allo = allo.sort_values(["key", "decided_on", "y"], kind="mergesort").drop_duplicates("key", keep="last")
    return pd.Series(allo["y"].to_numpy(int), index=pd.Index(allo["key"].to_numpy(), name="key"), name="label")


def outcome_hashes(outcomes: pd.DataFrame) -> list[str]:
    """SHA-256 of each outcome row (entity_type, entity_id, outcome, decided_on, source), sorted."""
    cols = ["entity_type", "entity_id", "outcome", "decided_on", "source"]
    return sorted(hashlib.sha256("\x1f".join(map(str, r)).encode("utf-8")).hexdigest()
                  for r in outcomes[cols].itertuples(index=False))


def enough_outcomes(y: pd.Series) -> str | None:
    """None when ``y`` is enough to train on, else a sentence saying what is missing."""
    n, pos = len(y), int(y.sum())
    neg = n - pos
    if n >= MIN_OUTCOMES and pos >= MIN_PER_CLASS and neg >= MIN_PER_CLASS:
        return None
    return (f"{n} labelled entities ({pos} fraud found, {neg} nothing found) in this window; at least "
            f"{MIN_OUTCOMES} with {MIN_PER_CLASS} of each are needed: nothing trained, the unsupervised "
            "ranking stands alone")


def neighbour_outcomes(edges: pd.DataFrame, keys: pd.Index, known: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Count each entity's neighbours (in the entity graph) with a known positive or negative label.

    A neighbour in the entity's own group (its ring) is never counted, nor the entity
    itself, so the feature never carries the target's own outcome.

    Parameters
    ----------
    edges : DataFrame
        a, b (``EntityFeatures.edges``).
    keys : Index
        The entities to describe.
    known : Series
        Labels that may be seen (in cross-validation: the training folds' only).
    groups : Series
        Group of each entity (:func:`detectors.features.ring_groups`).
    """
    both = pd.concat([edges[["a", "b"]], edges[["b", "a"]].rename(columns={"b": "a", "a": "b"})],
                     ignore_index=True)
    both = both[both["a"].isin(keys) & both["b"].isin(known.index)]
    ga = groups.reindex(both["a"]).to_numpy()
    gb = groups.reindex(both["b"]).to_numpy()
    both = both[(ga != gb) | pd.isna(ga)]
    y = known.reindex(both["b"]).to_numpy()
    out = pd.DataFrame({"neighbour_positive": pd.Series(y == 1, index=both["a"].to_numpy()).groupby(level=0).sum(),
                        "neighbour_negative": pd.Series(y == 0, index=both["a"].to_numpy()).groupby(level=0).sum()})
    return out.reindex(keys).fillna(0.0).astype(float)


def train_model(X: pd.DataFrame, y: pd.Series, *, seed: int = 42, params: dict[str, Any] | None = None):
    """Fit the classifier on the labelled rows; returns the scikit-learn estimator."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    clf = HistGradientBoostingClassifier(random_state=seed, **(params or MODEL_PARAMS))
    data = X.to_numpy(float, copy=True)
    # A feature unknown for every training row (no intermediary in the data) is constant: never split on.
    data[:, np.isnan(data).all(axis=0)] = 0.0
    # One OpenMP thread: the data are small, and on a busy machine spinning threads cost 50x the fit.
    with threadpool_limits(limits=1, user_api="openmp"):
        clf.fit(data, y.to_numpy(int))
    return clf


def export_model(clf, features: list[str], X_check: pd.DataFrame) -> dict[str, Any]:
    """The fitted trees as plain data (no code), checked against the estimator's own probabilities.

    Raises
    ------
    RuntimeError
        When the exported trees do not reproduce ``predict_proba`` on ``X_check``
        (a scikit-learn whose internals changed): nothing is stored then.
    """
    trees = []
    for (predictor,) in clf._predictors:
        nodes = predictor.nodes
        trees.append({"feature": nodes["feature_idx"].astype(int).tolist(),
                      "threshold": [float(t) for t in nodes["num_threshold"]],
                      "missing_left": nodes["missing_go_to_left"].astype(int).tolist(),
                      "left": nodes["left"].astype(int).tolist(), "right": nodes["right"].astype(int).tolist(),
                      "leaf": nodes["is_leaf"].astype(int).tolist(),
                      "value": [float(v) for v in nodes["value"]], "count": nodes["count"].astype(int).tolist()})
    doc = {"features": list(features), "baseline": float(np.ravel(clf._baseline_prediction)[0]), "trees": trees}
    model = TreeModel(doc)
    ours = model.predict_proba(X_check)
    theirs = _sk_proba(clf, X_check)
    if not np.allclose(ours, theirs, rtol=0, atol=1e-9):
        raise RuntimeError("exported trees do not reproduce scikit-learn's probabilities; model not stored")
    return doc


def _sk_proba(clf, X: pd.DataFrame) -> np.ndarray:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return clf.predict_proba(X.to_numpy(float))[:, 1]


class TreeModel:
    """Predicts and explains from exported trees (:func:`export_model`).

    Parameters
    ----------
    doc : dict
        features, baseline (log-odds) and trees.
    """

    def __init__(self, doc: dict[str, Any]):
        self.features = list(doc["features"])
        self.baseline = float(doc["baseline"])
        self.trees = [{k: np.asarray(v) for k, v in t.items()} for t in doc["trees"]]
        for t in self.trees:
            t["mean"] = _node_means(t)

    def log_odds(self, X: pd.DataFrame) -> np.ndarray:
        """Raw score (log-odds of fraud found) of each row."""
        raw, _ = self._walk(X, explain=False)
        return raw

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of fraud found for each row of ``X`` (columns by name)."""
        return 1.0 / (1.0 + np.exp(-self.log_odds(X)))

    def contributions(self, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Per-feature contributions to each row's log-odds, and the bias; they sum to the log-odds."""
        raw, contrib = self._walk(X, explain=True)
        bias = self.baseline + sum(float(t["mean"][0]) for t in self.trees)
        frame = pd.DataFrame(contrib, index=X.index, columns=self.features)
        return frame, np.full(len(X), bias)

    def _walk(self, X: pd.DataFrame, *, explain: bool) -> tuple[np.ndarray, np.ndarray | None]:
        data = X.reindex(columns=self.features).to_numpy(float)
        n = len(data)
        raw = np.full(n, self.baseline)
        contrib = np.zeros((n, len(self.features))) if explain else None
        rows = np.arange(n)
        for t in self.trees:
            node = np.zeros(n, dtype=int)
            active = ~t["leaf"][node].astype(bool)
            while active.any():
                idx = rows[active]
                cur = node[idx]
                f = t["feature"][cur]
                x = data[idx, f]
                go_left = np.where(np.isnan(x), t["missing_left"][cur] == 1, x <= t["threshold"][cur])
                nxt = np.where(go_left, t["left"][cur], t["right"][cur])
                if explain:
                    np.add.at(contrib, (idx, f), t["mean"][nxt] - t["mean"][cur])
                node[idx] = nxt
                active[idx] = ~t["leaf"][nxt].astype(bool)
            raw += t["value"][node]
        return raw, contrib


def _node_means(tree: dict[str, np.ndarray]) -> np.ndarray:
    """Count-weighted mean of the leaf values under each node (a leaf's is its value)."""
    mean = tree["value"].astype(float).copy()
    count = tree["count"].astype(float)
    # Children always have larger indices than their parent in scikit-learn's arrays.
    for i in range(len(mean) - 1, -1, -1):
        if not tree["leaf"][i]:
            left, right = tree["left"][i], tree["right"][i]
            total = count[left] + count[right]
            mean[i] = (mean[left] * count[left] + mean[right] * count[right]) / total if total else 0.0
    return mean


def explain(model: TreeModel, X: pd.DataFrame, *, top: int = 3) -> list[str]:
    """The ``top`` features that moved each row's learned score most, in words.

    E.g. ``"claimed 1,250,000 MAD (+0.84); 62% of its lines are for Tadamon patients (+0.40)"``;
    the numbers are the feature's contribution to the log-odds, signed.
    """
    contrib, _ = model.contributions(X)
    values = X.reindex(columns=model.features)
    out = []
    for key, row in contrib.iterrows():
        best = row.abs().sort_values(ascending=False, kind="mergesort")
        parts = []
        for name in best.index[:top]:
            c = float(row[name])
            if abs(c) < 1e-6:
                break
            parts.append(f"{_words(name, values.at[key, name])} ({c:+.2f})")
        out.append("; ".join(parts) if parts else "no feature moved it from the average")
    return out


def _words(name: str, value: float) -> str:
    template = FEATURES.get(name, name + " {v:.2f}")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f"{template.split('{')[0].strip() or name} unknown"
    return template.format(v=float(value))


def precision_at_k(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of positives among the ``k`` best scores (ties broken by position, stable)."""
    k = max(1, min(int(k), len(y)))
    order = np.argsort(-np.asarray(scores, float), kind="mergesort")[:k]
    return float(np.asarray(y)[order].mean())


@dataclass
class CVReport:
    """Grouped cross-validation of the learned ranker against the unsupervised score."""

    n_outcomes: int
    n_positive: int
    n_groups: int
    n_splits: int
    auc: float
    ap: float
    precision_at_k: float
    k: int
    baseline_auc: float
    baseline_ap: float
    baseline_precision_at_k: float
    fold_auc: list[float]
    max_group_folds: int

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def cross_validate(X: pd.DataFrame, y: pd.Series, groups: pd.Series, baseline: pd.Series, *,
                   edges: pd.DataFrame | None = None, seed: int = 42, n_splits: int = 5,
                   params: dict[str, Any] | None = None) -> tuple[CVReport, pd.Series]:
    """Grouped, stratified K-fold: out-of-fold learned scores against the unsupervised baseline.

    Parameters
    ----------
    X : DataFrame
        Features of the labelled entities (index: keys).
    y : Series
        Their labels, aligned with ``X``.
    groups : Series
        Group of each entity; a group is never split across folds.
    baseline : Series
        The same run's unsupervised score of each entity.
    edges : DataFrame, optional
        The entity graph; when given, neighbours' outcomes are recomputed per fold
        from the training folds' labels only.

    Returns
    -------
    (CVReport, Series)
        The report and the out-of-fold probability of each labelled entity.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = int(groups.nunique())
    splits = max(2, min(n_splits, n_groups, int(y.sum()), int((1 - y).sum())))
    cv = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=seed)
    oof = pd.Series(np.nan, index=X.index)
    fold_auc, fold_of_group = [], {}
    for fold, (tr, te) in enumerate(cv.split(X, y, groups)):
        for g in set(groups.iloc[te]):
            fold_of_group.setdefault(g, set()).add(fold)
        Xtr, Xte = X.iloc[tr].copy(), X.iloc[te].copy()
        if edges is not None:
            seen = y.iloc[tr]
            Xtr[list(NEIGHBOUR_FEATURES)] = neighbour_outcomes(edges, Xtr.index, seen, groups)
            Xte[list(NEIGHBOUR_FEATURES)] = neighbour_outcomes(edges, Xte.index, seen, groups)
        clf = train_model(Xtr, y.iloc[tr], seed=seed, params=params)
        p = _sk_proba(clf, Xte)
        oof.iloc[te] = p
        fold_auc.append(round(roc_auc(y.iloc[te].to_numpy(), p), 4))
    k = int(y.sum())
    base = baseline.reindex(X.index)
    # As detectors.evaluate does: an entity the detectors did not score ranks below every scored one.
    base = base.fillna(base.min() - 1.0 if base.notna().any() else 0.0)
    yy, base = y.to_numpy(int), base.to_numpy(float)
    report = CVReport(
        n_outcomes=len(y), n_positive=int(y.sum()), n_groups=n_groups, n_splits=splits,
        auc=round(roc_auc(yy, oof.to_numpy()), 4), ap=round(average_precision(yy, oof.to_numpy()), 4),
        precision_at_k=round(precision_at_k(yy, oof.to_numpy(), k), 4), k=k,
        baseline_auc=round(roc_auc(yy, base), 4), baseline_ap=round(average_precision(yy, base), 4),
        baseline_precision_at_k=round(precision_at_k(yy, base, k), 4), fold_auc=fold_auc,
        max_group_folds=max((len(v) for v in fold_of_group.values()), default=0),
    )
    return report, oof


def rerank(rings: pd.DataFrame, members: pd.DataFrame, entity_scores: pd.DataFrame, model: TreeModel,
           features: pd.DataFrame, version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rings and entity scores re-ranked by the learned model; the unsupervised columns are kept.

    Adds to entity scores ``learned_score`` (probability of fraud found) and
    ``learned_reasons`` (top features in words), best learned first; to rings
    ``learned_score`` (mean learned score of its providers, doctors and
    intermediaries), ``learned_reasons`` (its best-scored member's reasons),
    ``unsupervised_rank`` and ``model_version``, and ``rank`` follows the learned
    score (ties: the unsupervised score, then the ring id).
    """
    proba = pd.Series(model.predict_proba(features), index=features.index)
    reasons = pd.Series(explain(model, features), index=features.index)
    es = entity_scores.copy()
    keys = entity_key(es["entity_type"], es["entity_id"])
    es["learned_score"] = proba.reindex(keys).round(6).to_numpy()
    es["learned_reasons"] = reasons.reindex(keys).fillna("").to_numpy()
    es = es.sort_values(["learned_score", "score", "entity_type", "entity_id"],
                        ascending=[False, False, True, True], kind="mergesort", na_position="last")
    out = rings.copy()
    if out.empty:
        for col in ("learned_score", "learned_reasons", "unsupervised_rank", "model_version"):
            out[col] = pd.Series(dtype=object)
        return out, es.reset_index(drop=True)
    m = members[members["entity_type"].isin(_KINDS)]
    m = m.assign(key=entity_key(m["entity_type"], m["entity_id"]))
    m = m.assign(p=proba.reindex(m["key"]).to_numpy())
    ring_p = m.groupby("ring_id")["p"].mean()
    top_member = m.dropna(subset=["p"]).sort_values(["p", "key"], ascending=[False, True],
                                                    kind="mergesort").drop_duplicates("ring_id")
    # The member is named by its type only: ring rows reach pseudonymised views and bundles.
    ring_reason = {r: f"its most suspect {k.split(':', 1)[0].lower()}: {reasons.get(k, '')}"
                   for r, k in zip(top_member["ring_id"], top_member["key"])}
    out["unsupervised_rank"] = out["rank"].astype(int)
    out["learned_score"] = out["ring_id"].map(ring_p).fillna(0.0).round(6)
    out["learned_reasons"] = out["ring_id"].map(ring_reason).fillna("")
    out["model_version"] = version
    out = out.sort_values(["learned_score", "score", "ring_id"], ascending=[False, False, True], kind="mergesort")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True), es.reset_index(drop=True)

