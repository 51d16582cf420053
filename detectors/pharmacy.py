"""Pharmacy-prescriber drug rings, a pattern seen in AMO controls.

A pharmacy whose patients without an ALD receive ALD or injectable drugs, mostly
prescribed by one or two doctors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector, robust_z
from detectors.calibration import surprise
from detectors.config import default
from detectors.findings import Rows

__all__ = ["pharmacy_rings", "PharmacyRingDetector"]


def pharmacy_rings(lines: pd.DataFrame, *, min_lines: int = 5, max_prescribers: int = 2) -> pd.DataFrame:
    """Pharmacies dispensing ALD drugs to non-ALD patients, by prescriber concentration.

    Returns
    -------
    DataFrame
        provider_id, n_lines (non-ALD ALD-drug lines), share (of its medication lines),
        prescribers (tuple of the top ``max_prescribers`` doctors), concentration (their
        share of those lines), amount, z (robust z of share among pharmacies), score.
    """
    med = lines.loc[(lines["provider_type"] == "PHARMACY") & (lines["act_family"] == "MEDICATION")]
    cols = ["provider_id", "n_lines", "share", "prescribers", "concentration", "amount", "z", "score"]
    if med.empty:
        return pd.DataFrame(columns=cols)
    g = med.groupby("provider_id")
    table = pd.DataFrame({"n_med": g.size(), "n_lines": g["non_ald_ald_drug"].sum()})
    table["share"] = table["n_lines"] / table["n_med"]
    table["z"] = robust_z(table["share"].to_numpy())
    bad = med.loc[med["non_ald_ald_drug"]]
    amount = bad.groupby("provider_id")["amount_claimed"].sum()
    by_doctor = bad.loc[bad["doctor_id"].notna()].groupby(["provider_id", "doctor_id"]).size()
    rows = []
    for pid, t in table[table["n_lines"] >= min_lines].iterrows():
        counts = by_doctor.get(pid, pd.Series(dtype=int))
        counts = counts.sort_index().sort_values(ascending=False, kind="mergesort")
        top = counts.head(max_prescribers)
        conc = float(top.sum() / max(counts.sum(), 1))
        score = float(max(t["z"], 0) * conc * np.log1p(t["n_lines"]))
        rows.append((pid, int(t["n_lines"]), float(t["share"]), tuple(top.index), conc, float(amount.get(pid, 0.0)),
                     float(t["z"]), score))
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["score", "provider_id"], ascending=[False, True]).reset_index(drop=True)


class PharmacyRingDetector(Detector):
    """Pharmacies dispensing ALD or injectable drugs to non-ALD patients for one or two prescribers.

    Parameters
    ----------
    min_lines : int
        Fewest such lines at the pharmacy.
    max_prescribers : int
        Prescribers kept as the ring's.
    min_z : float
        Robust z of the pharmacy's share among pharmacies needed to nominate.
    min_concentration : float
        Share of those lines the top prescribers must write to nominate.
    """

    name = "pharmacy_rings"

    def __init__(
        self,
        min_lines: int = default("pharmacy_rings.min_lines"),
        max_prescribers: int = default("pharmacy_rings.max_prescribers"),
        min_z: float = default("pharmacy_rings.min_z"),
        min_concentration: float = default("pharmacy_rings.min_concentration"),
    ):
        self.min_lines = min_lines
        self.max_prescribers = max_prescribers
        self.min_z = min_z
        self.min_concentration = min_concentration

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        rings = pharmacy_rings(context.lines, min_lines=self.min_lines, max_prescribers=self.max_prescribers)
        n_pharmacies = int(context.lines.loc[context.lines["provider_type"] == "PHARMACY", "provider_id"].nunique())
        rings["score"] = surprise(rings["z"].to_numpy(float), n_tested=n_pharmacies,
                                  df=context.config.get("calibration.tail_df")) if len(rings) else rings["score"]
        scores, groups = [], []
        nominated = 0
        for r in rings.itertuples(index=False):
            ev = (f"{r.n_lines} ALD/injectable drug lines for patients without ALD ({r.share:.0%} of its "
                  f"medication, z={r.z:.1f}), {r.concentration:.0%} prescribed by {len(r.prescribers)} doctor(s)")
            scores.append(("PROVIDER", r.provider_id, r.score, ev, r.amount))
            if r.z < self.min_z or r.concentration < self.min_concentration:
                continue
            nominated += 1
            gid = f"pharmacy_rings-{r.provider_id}"
            groups.append((gid, "PROVIDER", r.provider_id, "pharmacy", r.score, ev))
            for doc in r.prescribers:
                pev = f"prescribes the ALD drugs pharmacy {r.provider_id} dispenses to patients without ALD"
                groups.append((gid, "DOCTOR", doc, "prescriber", r.score, pev))
                scores.append(("DOCTOR", doc, r.score, pev, 0.0))
        return scores, groups, {"pharmacies": len(rings), "nominated": nominated}
