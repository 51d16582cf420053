"""One scale for every score: the surprise, -log10 of a tail probability against peers.

Every detector turns its statistic into a robust z-score against the entity's
peers (median / MAD of the same statistic over the comparable entities it
tested), reads the tail probability of that z under a Student t distribution
(heavier tails than the normal: real peer distributions have outliers that are
not fraud), and corrects it for the number of entities it tested (Bonferroni: the
probability that *any* of them would look this extreme by chance). The score is

    surprise = -log10(min(1, n_tested * P(T >= z)))

so 2 means "one world in a hundred without fraud would show something this
extreme among all the entities this detector looked at". Counts (patients two
providers share) have an expectation instead of peers; their tail is the negative
binomial's with that mean (:func:`count_surprise`), overdispersed because people
who share one provider share others. Scores of different
detectors are therefore on one scale; a ring seen by several detectors combines
their tail probabilities with Fisher's method (:func:`combine`), and the result is
again a surprise. ``scipy.stats`` supplies the distributions.

An entity (a provider, a doctor...) is ranked by :func:`entity_ranking`: its best
surprise over the detectors that scored it, corrected for the number of detectors
that score entities of its kind (Bonferroni: the chance that any of them shows
something this extreme). Each detector looks for one kind of fraud, so a detector
that saw nothing remarkable about an entity is no evidence against what another saw
(Fisher's method would average a strong surprise with the others' nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["surprise", "count_surprise", "surprise_of_p", "combine", "combine_many", "entity_ranking", "tail_log10",
           "z_against"]

_LN10 = float(np.log(10.0))


def tail_log10(z: np.ndarray | float, *, df: float) -> np.ndarray:
    """log10 of the upper tail probability of ``z`` (Student t with ``df`` degrees, normal when ``df`` <= 0).

    Parameters
    ----------
    z : array-like or float
    df : float
        Degrees of freedom.
    """
    z = np.asarray(z, dtype=float)
    logsf = stats.norm.logsf(z) if df <= 0 else stats.t.logsf(z, df)
    return np.asarray(logsf, dtype=float) / _LN10


def surprise(z: np.ndarray | float, *, n_tested: int | np.ndarray = 1, df: float) -> np.ndarray:
    """-log10 of the multiplicity-corrected tail probability of robust z-scores ``z``.

    Parameters
    ----------
    z : array-like
        Robust z-scores against peers (NaN counts as 0).
    n_tested : int or array-like
        Entities the detector compared (Bonferroni factor), at least 1.
    df : float
        Degrees of freedom of the Student t tail; 0 or less means the normal tail.

    Returns
    -------
    ndarray
        Surprise >= 0; 0 means nothing unusual.
    """
    z = np.nan_to_num(np.asarray(z, dtype=float), nan=0.0)
    n = np.maximum(np.asarray(n_tested, dtype=float), 1.0)
    return np.clip(-(tail_log10(z, df=df) + np.log10(n)), 0.0, None)


def count_surprise(observed: np.ndarray | float, expected: np.ndarray | float, *,
                   n_tested: int | np.ndarray = 1, dispersion: float = 1.0,
                   among: np.ndarray | None = None) -> np.ndarray:
    """Surprise of seeing ``observed`` counts or more where ``expected`` were predicted.

    The tail is the negative binomial's with mean ``expected`` and shape
    ``dispersion`` (1 = geometric; larger is closer to Poisson, i.e. less
    overdispersed), corrected for ``n_tested`` comparisons, or, when ``among``
    holds the expected counts of every comparison made, for the chance that any of
    them shows a tail probability as small (a count test is discrete: a pair
    expected to share 0.01 patients can only reach a tiny tail probability with
    probability about that tail, so it adds much less than one to the correction).

    Parameters
    ----------
    observed : array-like or float
        Counts seen.
    expected : array-like or float
        Counts predicted.
    n_tested : int or array-like
        Comparisons made.
    dispersion : float
        Shape of the negative binomial.
    """
    x = np.asarray(observed, dtype=float)
    mu = np.maximum(np.asarray(expected, dtype=float), 1e-9)
    k = float(dispersion)
    logsf = stats.nbinom.logsf(np.maximum(x - 1, -1), k, k / (k + mu)) / _LN10
    if among is not None:
        return -np.log10(np.clip(_discrete_multiplicity(10.0 ** np.asarray(logsf, dtype=float),
                                                        np.asarray(among, dtype=float), k), 1e-300, None))
    n = np.maximum(np.asarray(n_tested, dtype=float), 1.0)
    return -(np.asarray(logsf, dtype=float) + np.log10(n))


def _discrete_multiplicity(p: np.ndarray, expected: np.ndarray, k: float) -> np.ndarray:
    """For each tail probability of ``p``: the expected number of comparisons (means ``expected``) that
    reach one as small by chance, at least ``p`` itself.

    The means are read on a grid of 1,000 steps a decade (0.23 % apart) and each grid value is
    weighted by how many comparisons it stands for: millions of provider pairs cost a few
    thousand tail evaluations per count.
    """
    mu = expected[expected > 0]
    if mu.size == 0:
        return np.array(p, dtype=float)
    out = np.empty(np.shape(p))
    grid, weight = np.unique(np.round(np.log10(np.maximum(mu, 1e-12)), 3), return_counts=True)
    mu = 10.0 ** grid
    for i, p0 in enumerate(np.ravel(p)):
        # The smallest count c each comparison needs for P(X > c) <= p0, and the chance it gets there.
        c = stats.nbinom.isf(p0, k, k / (k + mu))
        out.flat[i] = max(float((weight * stats.nbinom.sf(c, k, k / (k + mu))).sum()), float(p0))
    return out


def surprise_of_p(p: np.ndarray | float) -> np.ndarray:
    """-log10 of probabilities ``p`` (clipped to [1e-300, 1]).

    Parameters
    ----------
    p : array-like or float
        Probabilities.
    """
    return -np.log10(np.clip(np.asarray(p, dtype=float), 1e-300, 1.0))


def combine(surprises: Iterable[float]) -> float:
    """Fisher's combination of independent surprises, as a surprise.

    Two detectors each at surprise 2 (p = 0.01) combine to about 3.0; one
    surprise alone is returned unchanged; zeros add nothing but a degree of freedom.

    Parameters
    ----------
    surprises : iterable of float
    """
    s = [float(x) for x in surprises if x is not None and np.isfinite(x)]
    if not s:
        return 0.0
    if len(s) == 1:
        return max(s[0], 0.0)
    # Fisher: -2 sum ln p ~ chi2(2k); ln p = -s ln 10.
    total = float(np.sum(np.clip(s, 0.0, None)))
    out = -stats.chi2.logsf(2.0 * _LN10 * total, 2 * len(s)) / _LN10
    return float(max(out if np.isfinite(out) else total, 0.0))


def combine_many(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`combine` of many groups at once, from each group's sum and number of positive surprises.

    Parameters
    ----------
    sums : numpy.ndarray
        Each group's sum of surprises.
    counts : numpy.ndarray
        Each group's number of positive surprises.
    """
    sums = np.asarray(sums, dtype=float)
    counts = np.asarray(counts, dtype=int)
    out = -stats.chi2.logsf(2.0 * _LN10 * sums, 2 * np.maximum(counts, 1)) / _LN10
    out = np.where(np.isfinite(out), out, sums)  # beyond the float range the sum is the combination's order
    return np.where(counts <= 1, sums, np.maximum(out, 0.0))


def z_against(values: np.ndarray | float, reference: np.ndarray, *, min_scale: float) -> np.ndarray:
    """Robust z of ``values`` against a ``reference`` sample (its median and 1.4826 x MAD, at least ``min_scale``).

    Parameters
    ----------
    values : array-like or float
    reference : numpy.ndarray
        The sample compared with.
    min_scale : float
        Smallest scale used.
    """
    ref = np.asarray(reference, dtype=float)
    ref = ref[np.isfinite(ref)]
    x = np.asarray(values, dtype=float)
    if ref.size == 0:
        return np.zeros_like(x)
    med = float(np.median(ref))
    scale = 1.4826 * float(np.median(np.abs(ref - med)))
    if not scale > 0:
        scale = 1.2533 * float(np.mean(np.abs(ref - med)))
    return (x - med) / max(scale, min_scale, 1e-12)


def entity_ranking(findings: Sequence[Any], *, support_only: Iterable[str] = ()) -> pd.DataFrame:
    """One surprise per entity: its best detector's, corrected for the detectors that score its kind.

    Every detector's entity scores are surprises against everything that detector looked
    at (:func:`surprise`), negative for the unremarkable; an entity's surprise is the
    largest of its detectors' minus ``log10(D)``, ``D`` the number of detectors that scored
    any entity of its type in the run (Bonferroni over detectors, the same for every
    entity of a type). A detector that did not score an entity, or scored it as ordinary,
    does not pull it down; the ranking goes on below zero for the unremarkable. The detectors of
    ``support_only`` (Louvain communities, dense cores: shared patients are also what neighbours,
    referral clinics and growing practices show) only support a ring another detector found; their
    entity scores are left out here as their groups are there (an entity of such a ring takes the
    ring's score, :func:`detectors.pipeline.summarise`).

    Parameters
    ----------
    findings : sequence of Findings
        Each detector's findings (``.detector``, ``.scores``).
    support_only : iterable of str
        Detectors whose entity scores are left out.

    Returns
    -------
    DataFrame
        entity_type, entity_id, score, top_reason (the best detector's evidence), top_detector,
        n_detectors (detectors that scored the entity); best first.
    """
    columns = ["entity_type", "entity_id", "score", "top_reason", "top_detector", "n_detectors"]
    parts = [pd.DataFrame({"entity_type": f.scores["entity_type"].astype(str).to_numpy(),
                           "entity_id": f.scores["entity_id"].astype(str).to_numpy(),
                           "score": f.scores["score"].to_numpy(float),
                           "top_reason": f.scores["evidence"].astype(str).to_numpy(), "top_detector": f.detector})
             for f in findings if len(f.scores) and f.detector not in set(support_only)]
    if not parts:
        return pd.DataFrame(columns=columns)
    every = pd.concat(parts, ignore_index=True)
    keys = ["entity_type", "entity_id"]
    every = every.sort_values(keys + ["score", "top_detector"], ascending=[True, True, False, True], kind="mergesort")
    seen = every.groupby(keys, sort=False)["top_detector"].nunique()
    best = every.drop_duplicates(keys).set_index(keys)
    detectors = every.groupby("entity_type")["top_detector"].nunique()
    correction = np.log10(detectors.reindex(best.index.get_level_values(0)).to_numpy(float))
    best["score"] = np.round(best["score"].to_numpy(float) - correction, 6)
    best["n_detectors"] = seen.reindex(best.index).to_numpy(int)
    out = best.reset_index()
    return out.sort_values(["score", "entity_type", "entity_id"], ascending=[False, True, True],
                           kind="mergesort").reset_index(drop=True)[columns]
