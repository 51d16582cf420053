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

import numpy as np
import pandas as pd

__all__ = ["expected_shared", "with_local_lift", "prescription_pairs", "DISPENSING_TYPES"]

#: Providers that fill other doctors' prescriptions.
DISPENSING_TYPES: tuple[str, ...] = ("PHARMACY", "LAB", "IMAGING")


def expected_shared(lines: pd.DataFrame, provider_a: np.ndarray, provider_b: np.ndarray) -> np.ndarray:
    """Expected shared patients of each (a, b) pair from their patients' home regions.

    Parameters
    ----------
    lines : DataFrame
        Claim lines with ``beneficiary_id``, ``provider_id``, ``beneficiary_region``
        (missing regions form one region of their own).
    provider_a, provider_b : array-like of str
        The pairs.

    Returns
    -------
    ndarray of float
        One expectation per pair (0 when a provider has no lines).
    """
    pairs = lines[["provider_id", "beneficiary_id", "beneficiary_region"]].drop_duplicates(
        ["provider_id", "beneficiary_id"])
    region = pairs["beneficiary_region"].astype(object).where(pairs["beneficiary_region"].notna(), "NA").astype(str)
    prov_codes, prov_ids = pd.factorize(pairs["provider_id"].astype(str), sort=True)
    reg_codes, _ = pd.factorize(region, sort=True)
    counts = np.zeros((len(prov_ids), int(reg_codes.max()) + 1 if len(reg_codes) else 1))
    np.add.at(counts, (prov_codes, reg_codes), 1.0)
    people = lines[["beneficiary_id", "beneficiary_region"]].drop_duplicates("beneficiary_id")
    preg = people["beneficiary_region"].astype(object).where(people["beneficiary_region"].notna(), "NA").astype(str)
    n_region = preg.value_counts()
    _, reg_names = pd.factorize(region, sort=True)
    totals = n_region.reindex(reg_names).to_numpy(float)
    index = pd.Index(prov_ids)
    ia = index.get_indexer(np.asarray(provider_a, dtype=str))
    ib = index.get_indexer(np.asarray(provider_b, dtype=str))
    ok = (ia >= 0) & (ib >= 0)
    out = np.zeros(len(ia))
    if ok.any():
        out[ok] = (counts[ia[ok]] * counts[ib[ok]] / np.maximum(totals, 1.0)).sum(axis=1)
    # Over all pairs, independence predicts sum_r (S_r^2 - sum_a n_a,r^2) / 2 N_r shared patients; the lines
    # show sum over patients of C(k, 2) (k: providers the patient saw).
    sums, squares = counts.sum(axis=0), (counts ** 2).sum(axis=0)
    predicted = float(((sums ** 2 - squares) / (2.0 * np.maximum(totals, 1.0))).sum())
    k = pairs.groupby("beneficiary_id").size().to_numpy(float)
    observed = float((k * (k - 1) / 2.0).sum())
    return out * (observed / predicted if predicted > 0 else 1.0)


def with_local_lift(projection: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """``projection`` plus ``local_expected`` (:func:`expected_shared`) and ``local_lift`` = shared / expected."""
    if projection.empty:
        return projection.assign(local_expected=pd.Series(dtype=float), local_lift=pd.Series(dtype=float))
    expected = expected_shared(lines, projection["provider_a"].to_numpy(), projection["provider_b"].to_numpy())
    shared = projection["shared_patients"].to_numpy(float)
    return projection.assign(local_expected=expected, local_lift=shared / np.maximum(expected, 1e-9))


def prescription_pairs(lines: pd.DataFrame, *, min_patients: int = 1) -> set[tuple[str, str]]:
    """(a, b) pairs, a < b, where one is a pharmacy, lab or imaging centre filling the other's prescriptions.

    The prescriber must itself bill as a provider (a doctor's practice) and have
    written the centre's lines for at least ``min_patients`` patients.
    """
    disp = lines.loc[lines["provider_type"].isin(DISPENSING_TYPES) & lines["doctor_id"].notna(),
                     ["provider_id", "doctor_id", "beneficiary_id"]]
    if disp.empty:
        return set()
    billing = set(lines["provider_id"].astype(str).unique())
    disp = disp[disp["doctor_id"].astype(str).isin(billing)]
    n = disp.groupby([disp["provider_id"].astype(str), disp["doctor_id"].astype(str)])["beneficiary_id"].nunique()
    n = n[n >= min_patients]
    return {(min(a, b), max(a, b)) for a, b in n.index if a != b}
