"""What two providers are expected to share, given where their patients live and who prescribes.

Two providers of one town share many patients because people see the doctors and
pharmacies near home; a global lift (shared over n_a x n_b / N) calls every pair
of neighbours suspicious. Here the expected number of shared patients is summed
over the patients' home regions,

    expected(a, b) = sum_r  n_a,r x n_b,r / N_r

(n_a,r: patients of ``a`` living in region ``r``; N_r: patients of region ``r``
seen by anyone), scaled so that over all pairs it adds up to the sharing observed
(how often a patient of these lines sees two providers at all: often for
consultations and pharmacies, rarely for surgery), so only sharing beyond what the
neighbourhood and the kind of care predict counts.
A pharmacy, lab or imaging centre also shares the patients of the doctors whose
prescriptions it fills: that flow explains the sharing by itself
(:func:`prescription_pairs`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from graph.projections import provider_projection
from ingest.encode import IdCodes, IdPairs

__all__ = ["expected_shared", "expected_model", "with_local_lift", "prescription_pairs", "DISPENSING_TYPES"]

_ROBUST_STEPS = 5
#: Pairs whose expectation is computed together (a slice's temporaries: pairs x regions floats).
_PAIRS_PER_SLICE = 200_000
#: Providers that fill other doctors' prescriptions.
DISPENSING_TYPES: tuple[str, ...] = ("PHARMACY", "LAB", "IMAGING")


def expected_shared(lines: pd.DataFrame, provider_a: np.ndarray, provider_b: np.ndarray, *,
                    robust: bool = False, robust_quantile: float = 0.999, codes: IdCodes | None = None) -> np.ndarray:
    """Expected shared patients of each (a, b) pair from where their patients live and travel.

    For two providers of one region ``s`` the patients of home region ``r`` are
    spread over the providers of ``s`` that people of ``r`` use there:
    ``sum_r n_a,r n_b,r / N_r,s`` (a patient who travels to a city for surgery uses
    that city's lab); for providers of two regions, over everyone of ``r``:
    ``sum_r n_a,r n_b,r / N_r``. The whole is scaled so that over all pairs it
    adds up to the sharing the lines show.

    Parameters
    ----------
    lines : DataFrame
        Claim lines with ``beneficiary_id``, ``provider_id``, ``beneficiary_region``
        and ``provider_region`` (missing regions form one region of their own).
    provider_a, provider_b : array-like of str
        The pairs.
    robust : bool
        Scale against the sharing the lines show with each pair's count capped at what
        the model makes plausible (its ``robust_quantile`` Poisson quantile, iterated): a few
        rings whose pairs share dozens of patients otherwise raise every pair's expectation.
        Used for rare sharing (surgery), where a handful of rings is most of what is shared.
    robust_quantile : float
        The Poisson quantile each pair's count is capped at when ``robust``.
    codes : IdCodes, optional
        The lines' identifier codes, when already made (see :func:`expected_model`).

    Returns
    -------
    ndarray of float
        One expectation per pair (0 when a provider has no lines).
    """
    index, expect = expected_model(lines, robust=robust, robust_quantile=robust_quantile, codes=codes)
    return expect(index.get_indexer(np.asarray(provider_a, dtype=str)),
                  index.get_indexer(np.asarray(provider_b, dtype=str)))


def expected_model(lines: pd.DataFrame, *, robust: bool = False, robust_quantile: float = 0.999,
                   codes: IdCodes | None = None) -> tuple[pd.Index, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """The model of :func:`expected_shared`, fitted once, to evaluate many pairs given as positions.

    Parameters
    ----------
    lines : DataFrame
        As for :func:`expected_shared`.
    robust, robust_quantile
        See :func:`expected_shared`.
    codes : IdCodes, optional
        The lines' identifier codes (``DetectionContext.codes`` when ``lines`` are the context's);
        made here when absent.

    Returns
    -------
    (provider ids, expect)
        The sorted provider ids (as text) and ``expect(ia, ib)``: the expected shared
        patients of the pairs at positions ``ia``, ``ib`` of those ids (-1: a provider
        without lines, expectation 0), scaled as :func:`expected_shared` scales them.
    """
    codes = codes or IdCodes(lines)
    provider, prov_ids = codes("provider_id")
    patient, _ = codes("beneficiary_id")
    # One row per (provider, patient), the first in line order: a drop_duplicates on the ids' integer codes
    # (on their text it hashed every line's two strings).
    key = (provider.astype(np.int64) + 1) * (int(patient.max(initial=-1)) + 2) + (patient + 1)
    rows = np.flatnonzero(~pd.Series(key).duplicated().to_numpy())
    home = _region(lines["beneficiary_region"].iloc[rows])
    prov_codes = provider[rows]
    # Each provider's most frequent region (ties: the smallest code), without a Python call per provider.
    preg_codes, preg_names = pd.factorize(_region(lines["provider_region"].iloc[rows]), sort=True)
    counts_pr = np.zeros((len(prov_ids), len(preg_names)), dtype=np.int64)
    np.add.at(counts_pr, (prov_codes, preg_codes), 1)
    prov_region = np.asarray(preg_names)[counts_pr.argmax(axis=1)]
    regions = np.unique(np.concatenate([home, prov_region]))
    r_codes = np.searchsorted(regions, home)
    s_of_provider = np.searchsorted(regions, prov_region)
    n_reg = len(regions)
    counts = np.zeros((len(prov_ids), n_reg))
    np.add.at(counts, (prov_codes, r_codes), 1.0)
    # N_r: people of r seen by anyone; N_rs: people of r seen by a provider of region s.
    people = pd.DataFrame({"b": patient[rows], "r": r_codes, "s": s_of_provider[prov_codes]})
    n_r = np.bincount(people.drop_duplicates("b")["r"].to_numpy(), minlength=n_reg).astype(float)
    rs = people.drop_duplicates(["b", "s"])
    n_rs = np.zeros((n_reg, n_reg))
    np.add.at(n_rs, (rs["r"].to_numpy(), rs["s"].to_numpy()), 1.0)

    def raw(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        ok = np.flatnonzero((ia >= 0) & (ib >= 0))
        out = np.zeros(len(ia))
        # In slices of pairs: each pair's row of regions is summed alone, so slicing changes no value, and
        # the pairs x regions temporaries of a national projection (millions of pairs) stay small.
        for i in range(0, len(ok), _PAIRS_PER_SLICE):
            rows = ok[i:i + _PAIRS_PER_SLICE]
            a, b = ia[rows], ib[rows]
            sa, sb = s_of_provider[a], s_of_provider[b]
            denom = np.where((sa == sb)[:, None], n_rs.T[sa], n_r[None, :])
            out[rows] = (counts[a] * counts[b] / np.maximum(denom, 1.0)).sum(axis=1)
        return out

    index = pd.Index(prov_ids)
    # The same model summed over all pairs, against what the lines show (sum over patients of C(k, 2)).
    block = np.zeros((n_reg, n_reg))  # block[s, r] = sum over providers of s of n_a,r
    sq = np.zeros((n_reg, n_reg))
    np.add.at(block, s_of_provider, counts)
    np.add.at(sq, s_of_provider, counts ** 2)
    within = ((block ** 2 - sq) / (2.0 * np.maximum(n_rs.T, 1.0))).sum()
    across = (((block.sum(axis=0) ** 2 - (block ** 2).sum(axis=0)) / 2.0) / np.maximum(n_r, 1.0)).sum()
    predicted = float(within + across)
    # lines per patient (with an id), in the patients' sorted order as a sorted group-by gives them
    k = np.bincount(patient[rows][patient[rows] >= 0])
    k = k[k > 0].astype(float)
    observed = float((k * (k - 1) / 2.0).sum())
    if predicted <= 0:
        return index, raw
    scale = observed / predicted
    if robust and observed > 0:
        seen = provider_projection(lines[["provider_id", "beneficiary_id"]].iloc[rows])
        shared = seen["shared_patients"].to_numpy(float)
        model = raw(index.get_indexer(seen["provider_a"].astype(str).to_numpy()),
                    index.get_indexer(seen["provider_b"].astype(str).to_numpy()))
        for _ in range(_ROBUST_STEPS):
            cap = np.maximum(stats.poisson.ppf(robust_quantile, np.maximum(scale * model, 1e-12)), 1.0)
            scale = float(np.minimum(shared, cap).sum()) / predicted
    return index, lambda ia, ib: raw(ia, ib) * scale


def _region(values: pd.Series) -> np.ndarray:
    """Region names as an object array, "NA" when missing (from the lookup table when coded)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        # code -1 (missing) takes the last name: "NA"
        names = np.append(np.asarray(values.cat.categories.astype(str), dtype=object), "NA")
        return names[values.cat.codes.to_numpy()]
    return values.astype(object).where(values.notna(), "NA").astype(str).to_numpy()


def with_local_lift(projection: pd.DataFrame, lines: pd.DataFrame, *, robust: bool = False,
                    robust_quantile: float = 0.999, codes: IdCodes | None = None) -> pd.DataFrame:
    """``projection`` plus ``local_expected`` (:func:`expected_shared`) and ``local_lift`` = shared / expected.

    Parameters
    ----------
    projection : DataFrame
        A provider projection (``graph.projections.provider_projection``).
    lines : DataFrame
        ``DetectionContext.lines``.
    robust, robust_quantile
        See :func:`expected_shared`.
    codes : IdCodes, optional
        The lines' identifier codes, when already made (see :func:`expected_model`).
    """
    if projection.empty:
        return projection.assign(local_expected=pd.Series(dtype=float), local_lift=pd.Series(dtype=float))
    expected = expected_shared(lines, projection["provider_a"].to_numpy(), projection["provider_b"].to_numpy(),
                               robust=robust, robust_quantile=robust_quantile, codes=codes)
    shared = projection["shared_patients"].to_numpy(float)
    return projection.assign(local_expected=expected, local_lift=shared / np.maximum(expected, 1e-9))


def prescription_pairs(lines: pd.DataFrame, *, min_patients: int = 1, codes: IdCodes | None = None) -> IdPairs:
    """(a, b) pairs, a < b, where one is a pharmacy, lab or imaging centre filling the other's prescriptions.

    The prescriber must itself bill as a provider (a doctor's practice) and have
    written the centre's lines for at least ``min_patients`` patients.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    min_patients : int
    codes : IdCodes, optional
        The lines' identifier codes, when already made.

    Returns
    -------
    IdPairs
        The pairs of provider ids, as a set of ``(a, b)`` tuples behaves (held as integer keys:
        a national window has hundreds of thousands of pairs).
    """
    codes = codes or IdCodes(lines)
    provider, provider_ids = codes("provider_id")
    doctor, doctor_ids = codes("doctor_id")
    patient = codes("beneficiary_id")[0]
    # the prescriber's code among the billing providers (-1: it does not bill)
    billing = provider_ids.get_indexer(doctor_ids)
    disp = (lines["provider_type"].isin(DISPENSING_TYPES).to_numpy(bool) & (doctor >= 0)
            & (provider >= 0))
    disp &= billing[np.maximum(doctor, 0)] >= 0
    a, b = provider[disp].astype(np.int64), billing[doctor[disp]].astype(np.int64)
    width = max(len(provider_ids), 1)
    pair, pairs = pd.factorize(a * width + b)
    # patients (with an id) of each (centre, prescriber) pair, as the group-by's nunique counted them
    seen = patient[disp] >= 0
    span = int(patient.max(initial=-1)) + 1
    hits = pd.unique(pair[seen].astype(np.int64) * span + patient[disp][seen])
    n = np.bincount(hits // max(span, 1), minlength=len(pairs))
    pairs = pairs[n >= min_patients]
    a, b = pairs // width, pairs % width
    keep = a != b
    return IdPairs(provider_ids, np.minimum(a, b)[keep], np.maximum(a, b)[keep])
