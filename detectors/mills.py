"""Lab and imaging mills: a few prescribers sending their patients for far more tests than peers.

For each (referring doctor, lab or imaging centre) pair the amount billed per
patient is compared with every other pair by a robust z-score; a mill is a
centre with one or more referring doctors far above the rest, on enough patients.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector, robust_z
from detectors.calibration import surprise
from detectors.config import default
from detectors.findings import Rows

__all__ = ["mill_pairs", "MillDetector"]

_CENTRES = ("LAB", "IMAGING")


def mill_pairs(lines: pd.DataFrame, *, min_patients: int = 5) -> pd.DataFrame:
    """Referring doctor x lab/imaging pairs with their per-patient volume and its robust z.

    Returns
    -------
    DataFrame
        doctor_id, provider_id, n_patients, lines_per_patient, amount_per_patient,
        amount, z (robust z of log amount per patient among pairs), score; best first.
    """
    cols = ["doctor_id", "provider_id", "n_patients", "lines_per_patient", "amount_per_patient", "amount", "z",
            "score"]
    df = lines.loc[lines["provider_type"].isin(_CENTRES) & lines["doctor_id"].notna()]
    if df.empty:
        return pd.DataFrame(columns=cols)
    g = df.groupby(["doctor_id", "provider_id"])
    t = pd.DataFrame({"n_patients": g["beneficiary_id"].nunique(), "n_lines": g.size(),
                      "amount": g["amount_claimed"].sum()})
    t = t[t["n_patients"] >= min_patients].reset_index()
    if t.empty:
        return pd.DataFrame(columns=cols)
    t["lines_per_patient"] = t["n_lines"] / t["n_patients"]
    t["amount_per_patient"] = t["amount"] / t["n_patients"]
    t["z"] = robust_z(np.log1p(t["amount_per_patient"].to_numpy()), min_scale=0.1)
    t["score"] = np.clip(t["z"], 0, None) * np.log1p(t["n_patients"])
    return t.sort_values(["score", "doctor_id", "provider_id"], ascending=[False, True, True])[cols].reset_index(
        drop=True)


class MillDetector(Detector):
    """Labs and imaging centres fed by a few over-prescribing doctors.

    Parameters
    ----------
    min_patients : int
        Fewest patients a doctor sends to the centre for the pair to be scored.
    min_z : float
        Robust z of the amount per patient needed to nominate a pair.
    min_centre_patients : int
        Fewest patients sent by the nominated pairs of a centre for it to be nominated:
        one doctor over-testing a handful of patients is an indicator, not yet a mill.
    """

    name = "mills"

    def __init__(
        self,
        min_patients: int = default("mills.min_patients"),
        min_z: float = default("mills.min_z"),
        min_centre_patients: int = default("mills.min_centre_patients"),
    ):
        self.min_patients = min_patients
        self.min_z = min_z
        self.min_centre_patients = min_centre_patients

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        pairs = mill_pairs(context.lines, min_patients=self.min_patients)
        if len(pairs):
            pairs["score"] = surprise(pairs["z"].to_numpy(float), n_tested=len(pairs),
                                      df=context.config.get("calibration.tail_df"))
        scores, groups = [], []
        flagged = pairs[pairs["z"] >= self.min_z]
        for centre, sub in flagged.groupby("provider_id", sort=True):
            if sub["n_patients"].sum() < self.min_centre_patients:
                continue
            total = float(sub["score"].max())
            ev = (f"{len(sub)} referring doctor(s) send {int(sub['n_patients'].sum())} patients for "
                  f"{sub['amount_per_patient'].mean():,.0f} MAD of tests each (z up to {sub['z'].max():.1f})")
            scores.append(("PROVIDER", centre, total, ev, float(sub["amount"].sum())))
            # One group per referring doctor: a centre serving two rings must not tie them together.
            for r in sub.itertuples(index=False):
                gid = f"mills-{centre}-{r.doctor_id}"
                dev = (f"sends {r.n_patients} patients to {centre} for {r.amount_per_patient:,.0f} MAD each "
                       f"({r.lines_per_patient:.1f} lines), z={r.z:.1f} against other referrals")
                groups.append((gid, "PROVIDER", centre, "centre", total, ev))
                groups.append((gid, "DOCTOR", r.doctor_id, "prescriber", r.score, dev))
                scores.append(("DOCTOR", r.doctor_id, r.score, dev, r.amount))
        return scores, groups, {"pairs": len(pairs), "nominated": sum(s[0] == "PROVIDER" for s in scores)}
