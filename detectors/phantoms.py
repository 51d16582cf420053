"""Phantom patients, a pattern seen in AMO controls.

Beneficiaries who live far away, are elderly, are never seen by any other
provider, and get surgery with no consultation before it. A provider with many
of them, against its peers, bills people it never saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector, robust_z
from detectors.calibration import surprise
from detectors.config import default
from detectors.findings import Rows

__all__ = ["phantom_patients", "PhantomDetector"]


def phantom_patients(lines: pd.DataFrame, *, min_age: int = 60, min_traits: int = 4) -> pd.DataFrame:
    """Beneficiaries with phantom traits, and the provider that billed them.

    Only patients with surgery or a stay are looked at. Traits: lives in another
    region than the provider, aged ``min_age`` or more, seen nowhere else than at the
    provider that billed the surgery or stay (the practices of the doctors attending
    them there do not count: a fabricated pre-operative consultation is billed that
    way), surgery or stay without a prior consultation, Tadamon. Patients seen nowhere
    else with at least ``min_traits`` of the five are phantom-like.

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
    heavy = lines["act_family"].isin(("SURGERY", "HOSPITAL_STAY")).to_numpy(bool)
    # Only patients with surgery or a stay can be phantoms: the rest is left out early.
    lines = lines.loc[lines["beneficiary_id"].isin(set(lines.loc[heavy, "beneficiary_id"]))]
    heavy = lines["act_family"].isin(("SURGERY", "HOSPITAL_STAY")).to_numpy(bool)
    g = lines.groupby("beneficiary_id")
    # The provider that billed the patient's heavy care, and the doctors attending it there.
    main = lines.loc[heavy].groupby("beneficiary_id")["provider_id"].first()
    bene = lines["beneficiary_id"].to_numpy(object)
    at_main = lines["provider_id"].to_numpy(object) == lines["beneficiary_id"].map(main).to_numpy(object)
    attending = pd.MultiIndex.from_arrays([bene[at_main], lines["doctor_id"].to_numpy(object)[at_main]])
    # Seen nowhere else: a consultation billed by the practice of the surgeon who operates (a fabricated
    # pre-operative visit is written that way) does not count as being seen elsewhere.
    own = at_main | pd.MultiIndex.from_arrays([bene, lines["provider_id"].to_numpy(object)]).isin(attending)
    per = pd.DataFrame({
        "n_providers": g["provider_id"].nunique(),
        "elsewhere": pd.Series(~own, index=lines.index).groupby(lines["beneficiary_id"]).any(),
        "far": g["far"].all(),
        "age": g["age"].max(),
        "tadamon": g["tadamon"].all(),
        "provider_id": main,
        "amount": g["amount_claimed"].sum(),
    })
    first_heavy = lines.loc[heavy].groupby("beneficiary_id")["service_date"].min()
    first_consult = lines.loc[lines["act_family"] == "CONSULTATION"].groupby("beneficiary_id")["service_date"].min()
    fh = first_heavy.reindex(per.index)
    fc = first_consult.reindex(per.index)
    per["no_consult"] = fh.notna() & (fc.isna() | (fc > fh))
    per["isolated"] = ~per["elsewhere"]
    traits = (per["far"].astype(int) + (per["age"] >= min_age).astype(int) + per["isolated"].astype(int)
              + per["no_consult"].astype(int) + per["tadamon"].astype(int))
    per["n_traits"] = traits
    per["phantom"] = (traits >= min_traits) & fh.notna() & per["isolated"]
    return per.reset_index()[["beneficiary_id", "provider_id", "n_traits", "amount", "phantom"]]


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
        scores, groups = [], []
        nominated = 0
        for pid in sorted(n_ph[n_ph > 0].index):
            k, zz = int(n_ph[pid]), float(z[pid])
            amount = float(ph.loc[ph["provider_id"] == pid, "amount"].sum())
            ev = (f"{k} of its {int(patients[pid])} patients look like phantoms (far, elderly, seen nowhere else, "
                  f"surgery without consultation), z={zz:.1f} against its peers")
            score = float(surprise(zz, n_tested=len(patients), df=df))
            scores.append(("PROVIDER", pid, score, ev, amount))
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
