"""Lab and imaging mills: a few prescribers sending their patients for far more tests than peers.

For each (referring doctor, lab or imaging centre) pair two things are read: the
amount billed per patient, compared with every other pair by a robust z-score; and
how many of the pair's patients had a heavy dossier at the centre (tests far dearer
than the centre type's dossiers usually are), against the rate of heavy dossiers
among all pairs (binomial tail). The second does not dilute: a doctor who sends many
ordinary patients and over-tests a dozen of them keeps his dozen. A mill is a centre
with one or more referring doctors far above the rest, on enough patients.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scipy import stats

from detectors.base import DetectionContext, Detector, robust_z
from detectors.calibration import surprise, surprise_of_p
from detectors.config import default
from detectors.findings import Rows
from detectors.phantoms import robust_rate

__all__ = ["mill_pairs", "MillDetector"]

_CENTRES = ("LAB", "IMAGING")


def mill_pairs(lines: pd.DataFrame, *, min_patients: int = 5, min_scale: float = 0.1,
               heavy_quantile: float = 0.99, outlier_surprise: float = 1.0) -> pd.DataFrame:
    """Referring doctor x lab/imaging pairs with their per-patient volume, its robust z, and their heavy dossiers.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    min_patients : int
        Pairs with fewer referred patients are left out.
    min_scale : float
        Smallest spread of the log amount per patient among pairs.
    heavy_quantile : float
        A dossier at a centre is heavy when its amount there is at least this quantile of
        the dossiers of centres of the same type.
    outlier_surprise : float
        Pairs this surprising at the pooled rate are left out of it (:func:`detectors.phantoms.robust_rate`).

    Returns
    -------
    DataFrame
        doctor_id, provider_id, n_patients, lines_per_patient, amount_per_patient,
        amount, z (robust z of log amount per patient among pairs), n_heavy (patients
        with a heavy dossier), heavy_rate (the rate of such patients among the pairs of
        the centre's type, estimated robustly), heavy_surprise (binomial tail of
        ``n_heavy`` at that rate, times the pairs tested), score; best first.
    """
    cols = ["doctor_id", "provider_id", "n_patients", "lines_per_patient", "amount_per_patient", "amount", "z",
            "n_heavy", "heavy_rate", "heavy_surprise", "score"]
    df = lines.loc[lines["provider_type"].isin(_CENTRES) & lines["doctor_id"].notna()]
    if df.empty:
        return pd.DataFrame(columns=cols)
    g = df.groupby(["doctor_id", "provider_id"])
    t = pd.DataFrame({"n_patients": g["beneficiary_id"].nunique(), "n_lines": g.size(),
                      "amount": g["amount_claimed"].sum()})
    heavy = _heavy_patients(df, heavy_quantile)
    t["n_heavy"] = heavy.reindex(t.index).fillna(0).astype(int)
    ptype = df.groupby("provider_id")["provider_type"].first()
    t = t[t["n_patients"] >= min_patients].reset_index()
    if t.empty:
        return pd.DataFrame(columns=cols)
    t["lines_per_patient"] = t["n_lines"] / t["n_patients"]
    t["amount_per_patient"] = t["amount"] / t["n_patients"]
    t["z"] = robust_z(np.log1p(t["amount_per_patient"].to_numpy()), min_scale=min_scale)
    t["score"] = np.clip(t["z"], 0, None) * np.log1p(t["n_patients"])
    t["heavy_rate"] = 0.0
    t["heavy_surprise"] = 0.0
    kind = t["provider_id"].map(ptype).astype(str).to_numpy()
    for k in np.unique(kind):
        idx = np.flatnonzero(kind == k)
        k_h, n_p = t["n_heavy"].to_numpy(float)[idx], t["n_patients"].to_numpy(float)[idx]
        rate = robust_rate(k_h, n_p, outlier_surprise=outlier_surprise)
        p = stats.binom.sf(k_h - 1, n_p, rate) * len(t)
        t.loc[t.index[idx], "heavy_rate"] = rate
        t.loc[t.index[idx], "heavy_surprise"] = np.where(k_h > 0, surprise_of_p(np.minimum(p, 1.0)), 0.0)
    return t.sort_values(["score", "doctor_id", "provider_id"], ascending=[False, True, True])[cols].reset_index(
        drop=True)


def _heavy_patients(df: pd.DataFrame, quantile: float) -> pd.Series:
    """Per (doctor, centre): patients with a dossier whose amount at the centre reaches the type's ``quantile``."""
    dossier = df.groupby(["claim_id", "provider_id", "doctor_id"], observed=True).agg(
        amount=("amount_claimed", "sum"), beneficiary_id=("beneficiary_id", "first"),
        provider_type=("provider_type", "first")).reset_index()
    limit = dossier.groupby("provider_type")["amount"].transform(lambda s: s.quantile(quantile))
    heavy = dossier[dossier["amount"] >= limit]
    return heavy.groupby(["doctor_id", "provider_id"])["beneficiary_id"].nunique()


class MillDetector(Detector):
    """Labs and imaging centres fed by a few over-prescribing doctors.

    Parameters
    ----------
    min_patients : int
        Fewest patients a doctor sends to the centre for the pair to be scored.
    min_z : float
        Robust z of the amount per patient needed to nominate a pair.
    min_centre_patients : int
        Fewest patients sent by the nominated pairs of a centre for it to be nominated
        (of a pair nominated by its heavy dossiers alone, those patients only):
        one doctor over-testing a handful of patients is an indicator, not yet a mill.
    heavy_quantile : float
        A dossier is heavy when its amount at the centre reaches this quantile of its centre type's.
    min_heavy_surprise : float
        Surprise of a pair's patients with heavy dossiers, against the rate among pairs, that also
        nominates it.
    """

    name = "mills"

    def __init__(
        self,
        min_patients: int = default("mills.min_patients"),
        min_z: float = default("mills.min_z"),
        min_centre_patients: int = default("mills.min_centre_patients"),
        heavy_quantile: float = default("mills.heavy_quantile"),
        min_heavy_surprise: float = default("mills.min_heavy_surprise"),
    ):
        self.min_patients = min_patients
        self.min_z = min_z
        self.min_centre_patients = min_centre_patients
        self.heavy_quantile = heavy_quantile
        self.min_heavy_surprise = min_heavy_surprise

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        pairs = mill_pairs(context.lines, min_patients=self.min_patients,
                           min_scale=context.config.get("calibration.min_scale"), heavy_quantile=self.heavy_quantile,
                           outlier_surprise=context.config.get("calibration.rate_outlier_surprise"))
        if len(pairs):
            by_z = surprise(pairs["z"].to_numpy(float), n_tested=len(pairs),
                            df=context.config.get("calibration.tail_df"))
            pairs["score"] = np.maximum(by_z, pairs["heavy_surprise"].to_numpy(float))
        scores, groups = [], []
        by_amount = pairs["z"] >= self.min_z
        flagged = pairs[by_amount | (pairs["heavy_surprise"] >= self.min_heavy_surprise)]
        # Patients who tie a pair to the mill: all it sent when its amount per patient stands out,
        # else those with a heavy dossier.
        support = np.where(flagged["z"] >= self.min_z, flagged["n_patients"], flagged["n_heavy"])
        flagged = flagged.assign(support=support)
        for centre, sub in flagged.groupby("provider_id", sort=True):
            if sub["support"].sum() < self.min_centre_patients:
                continue
            total = float(sub["score"].max())
            ev = (f"{len(sub)} referring doctor(s) send {int(sub['n_patients'].sum())} patients for "
                  f"{sub['amount_per_patient'].mean():,.0f} MAD of tests each (z up to {sub['z'].max():.1f}), "
                  f"{int(sub['n_heavy'].sum())} of them with a dossier among the dearest "
                  f"{1 - self.heavy_quantile:.0%} of the centre type's")
            scores.append(("PROVIDER", centre, total, ev, float(sub["amount"].sum())))
            # One group per referring doctor: a centre serving two rings must not tie them together.
            for r in sub.itertuples(index=False):
                gid = f"mills-{centre}-{r.doctor_id}"
                dev = (f"sends {r.n_patients} patients to {centre} for {r.amount_per_patient:,.0f} MAD each "
                       f"({r.lines_per_patient:.1f} lines), z={r.z:.1f} against other referrals; {r.n_heavy} "
                       f"with a heavy dossier where {r.heavy_rate:.1%} of referred patients have one")
                groups.append((gid, "PROVIDER", centre, "centre", total, ev))
                groups.append((gid, "DOCTOR", r.doctor_id, "prescriber", r.score, dev))
                scores.append(("DOCTOR", r.doctor_id, r.score, dev, r.amount))
        return scores, groups, {"pairs": len(pairs), "nominated": sum(s[0] == "PROVIDER" for s in scores)}
