"""Phantom patients, a pattern seen in AMO controls.

Beneficiaries who live far away, are elderly, are never seen by any other
provider, and get surgery with no consultation before it. A provider with many
of them, against its peers, bills people it never saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scipy import stats

from detectors.base import DetectionContext, Detector, robust_z
from detectors.calibration import surprise
from detectors.config import default
from detectors.findings import Rows

__all__ = ["phantom_patients", "phantom_tail", "PhantomDetector"]


def phantom_patients(lines: pd.DataFrame, *, min_age: int = 60, min_traits: int = 4) -> pd.DataFrame:
    """Beneficiaries with phantom traits, and the provider that billed them.

    Traits: lives in another region than the provider, aged ``min_age`` or more,
    seen by one provider only, surgery or stay without a prior consultation,
    Tadamon. Patients with at least ``min_traits`` of the five are phantom-like.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    min_age : int
    min_traits : int

    Returns
    -------
    DataFrame
        beneficiary_id, provider_id, n_traits, amount (what the provider billed for
        them), phantom (bool).
    """
    g = lines.groupby("beneficiary_id")
    per = pd.DataFrame({
        "n_providers": g["provider_id"].nunique(),
        "far": g["far"].all(),
        "age": g["age"].max(),
        "tadamon": g["tadamon"].all(),
        "provider_id": g["provider_id"].first(),
        "amount": g["amount_claimed"].sum(),
    })
    heavy = lines["act_family"].isin(("SURGERY", "HOSPITAL_STAY"))
    first_heavy = lines.loc[heavy].groupby("beneficiary_id")["service_date"].min()
    first_consult = lines.loc[lines["act_family"] == "CONSULTATION"].groupby("beneficiary_id")["service_date"].min()
    fh = first_heavy.reindex(per.index)
    fc = first_consult.reindex(per.index)
    per["no_consult"] = fh.notna() & (fc.isna() | (fc > fh))
    traits = (per["far"].astype(int) + (per["age"] >= min_age).astype(int) + (per["n_providers"] == 1).astype(int)
              + per["no_consult"].astype(int) + per["tadamon"].astype(int))
    per["n_traits"] = traits
    per["phantom"] = (traits >= min_traits) & per["no_consult"] & (per["n_providers"] == 1)
    return per.reset_index()[["beneficiary_id", "provider_id", "n_traits", "amount", "phantom"]]


def phantom_tail(n_phantoms: pd.Series, n_patients: pd.Series, provider_type: pd.Series, *,
                 n_tested: int) -> pd.Series:
    """Surprise of each provider's phantom-like patients against the share of its type.

    Under "nothing unusual here", a provider's phantom-like patients are a beta-binomial
    draw from its patients: the share of its type (pooled, Jeffreys-smoothed), spread
    between providers as much as the type's shares spread beyond what binomial sampling
    explains (the intra-class correlation, estimated robustly). The tail probability of seeing
    as many or more, times ``n_tested``, is the surprise (:mod:`detectors.calibration`).
    One phantom-like patient of a practice of two is then the ordinary luck of small
    numbers, not the z of 20 a share compared with a spread of near zero gives.

    Parameters
    ----------
    n_phantoms, n_patients : Series
        Per provider (same index).
    provider_type : Series
        Per provider: the peer group.
    n_tested : int
        Providers compared (Bonferroni factor).
    """
    k = n_phantoms.to_numpy(float)
    n = n_patients.to_numpy(float)
    logsf = np.zeros(len(k))
    types = provider_type.to_numpy(object)
    for t in pd.unique(types):
        m = (types == t) & (n > 0)
        if not m.any():
            continue
        p0 = (k[m].sum() + 0.5) / (n[m].sum() + 1.0)
        rho = _intraclass(k[m], n[m], p0)
        if rho > 0:
            a, b = p0 * (1.0 / rho - 1.0), (1.0 - p0) * (1.0 / rho - 1.0)
            logsf[m] = stats.betabinom.logsf(k[m] - 1, n[m], a, b)
        else:
            logsf[m] = stats.binom.logsf(k[m] - 1, n[m], p0)
    return pd.Series(-(logsf / np.log(10.0) + np.log10(max(n_tested, 1))), index=n_phantoms.index)


def _intraclass(k: np.ndarray, n: np.ndarray, p0: float) -> float:
    """Intra-class correlation of binomial shares k / n around ``p0`` (0 to 0.5), robustly.

    The dispersion is the median squared Pearson residual over its value under the binomial
    (the median of a chi-square with one degree of freedom), so that the few providers that
    bill phantoms do not widen the tail they are read against; a beta-binomial with
    correlation ``rho`` has dispersion ``1 + (n - 1) rho`` at the median size ``n``.
    """
    if len(k) < 3:
        return 0.0
    r2 = (k - n * p0) ** 2 / np.maximum(n * p0 * (1.0 - p0), 1e-12)
    dispersion = float(np.median(r2)) / float(stats.chi2.ppf(0.5, 1))
    size = float(np.median(n))
    if dispersion <= 1.0 or size <= 1.0:
        return 0.0
    return float(np.clip((dispersion - 1.0) / (size - 1.0), 0.0, 0.5))


class PhantomDetector(Detector):
    """Providers billing many phantom-like patients, against peers of their type.

    Parameters
    ----------
    min_age : int
    min_traits : int
        Of the five phantom traits.
    min_phantoms : int
        Fewest phantom-like patients for a provider to be nominated.
    min_z : float
        Robust z of its phantom share among providers of its type needed to nominate.
    """

    name = "phantoms"

    def __init__(
        self,
        min_age: int = default("phantoms.min_age"),
        min_traits: int = default("phantoms.min_traits"),
        min_phantoms: int = default("phantoms.min_phantoms"),
        min_z: float = default("phantoms.min_z"),
    ):
        self.min_age = min_age
        self.min_traits = min_traits
        self.min_phantoms = min_phantoms
        self.min_z = min_z

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        lines = context.lines
        per = phantom_patients(lines, min_age=self.min_age, min_traits=self.min_traits)
        # Public hospitals treat referred Tadamon patients from afar, admitted without a consultation, by design.
        public = {t.strip() for t in str(context.config.get("lines.public_types")).split(",") if t.strip()}
        public_ids = set(lines.loc[lines["provider_type"].isin(public), "provider_id"])
        per = per[~per["provider_id"].isin(public_ids)]
        patients = lines.groupby("provider_id")["beneficiary_id"].nunique()
        ph = per[per["phantom"]]
        n_ph = ph.groupby("provider_id").size().reindex(patients.index).fillna(0)
        # Shrunk towards zero by min_phantoms pseudo-patients: one odd patient of a tiny practice is no pattern.
        share = n_ph / (patients + self.min_phantoms)
        df = context.config.get("calibration.tail_df")
        ptype = lines.groupby("provider_id")["provider_type"].first().reindex(patients.index)
        z = pd.Series(np.nan, index=patients.index)
        for _, idx in share.groupby(ptype.to_numpy()).groups.items():
            z[idx] = robust_z(share[idx].to_numpy())
        # The provider's own score reads the tail of its count (small numbers are luck); nominating a
        # group needs min_phantoms of them and the share's z, and the group keeps that z's surprise.
        own = phantom_tail(n_ph, patients, ptype.astype(str), n_tested=len(patients))
        scores, groups = [], []
        nominated = 0
        for pid in sorted(n_ph[n_ph > 0].index):
            k, zz = int(n_ph[pid]), float(z[pid])
            amount = float(ph.loc[ph["provider_id"] == pid, "amount"].sum())
            ev = (f"{k} of its {int(patients[pid])} patients look like phantoms (far, elderly, seen nowhere else, "
                  f"surgery without consultation), z={zz:.1f} against its peers")
            score = float(surprise(zz, n_tested=len(patients), df=df))
            scores.append(("PROVIDER", pid, float(own[pid]), ev, amount))
            if k < self.min_phantoms or zz < self.min_z:
                continue
            nominated += 1
            gid = f"phantoms-{pid}"
            groups.append((gid, "PROVIDER", pid, "phantom_biller", score, ev))
            mine = ph[ph["provider_id"] == pid]["beneficiary_id"]
            docs = lines[lines["beneficiary_id"].isin(set(mine)) & lines["doctor_id"].notna()].groupby("doctor_id").size()
            for doc, c in docs[docs >= max(2, 0.2 * docs.sum())].sort_index().items():
                groups.append((gid, "DOCTOR", doc, "attending", score,
                               f"attends {c} acts billed for phantom-like patients of {pid}"))
            for b in sorted(mine):
                groups.append((gid, "BENEFICIARY", b, "phantom_patient", score,
                               f"far, elderly, seen only by {pid}, surgery without consultation"))
        return scores, groups, {"phantom_patients": int(per["phantom"].sum()), "nominated": nominated}
