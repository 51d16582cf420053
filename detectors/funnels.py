"""Recruiter funnels: an inferred intermediary whose households are sent to one clinic.

The signature of a rabatteur: the households linked by an intermediary
(``graph.intermediaries``) go mostly to one provider, on the same days, from
another region, mostly under AMO Tadamon, mostly for expensive acts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector
from detectors.calibration import surprise, z_against
from detectors.config import default
from detectors.findings import Rows

__all__ = ["funnel_table", "FunnelDetector"]


def funnel_table(lines: pd.DataFrame, members: pd.DataFrame, *, min_beneficiaries: int = 3,
                 min_share: float = 0.2, min_patient_share: float = 0.5,
                 public_types: tuple[str, ...] = ("HOSPITAL",)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Describe where each intermediary's beneficiaries are sent.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    members : DataFrame
        ``Intermediaries.members`` [intermediary_id, household_id, beneficiary_id].
    min_beneficiaries : int
        Intermediaries linking fewer beneficiaries with claims are skipped.
    min_share : float
        A provider (or doctor) is a destination when it receives at least this
        share of the intermediary's patients' amount.
    min_patient_share : float
        A provider is also a destination when at least this share of the
        intermediary's patients were seen there (the lab every recruited patient
        passes through bills little of their amount).
    public_types : tuple of str
        Provider types that treat referred Tadamon patients by design (public
        hospitals): their lines count in the total, never as a destination, so a
        hospital social worker referring patients is no funnel.

    Returns
    -------
    (funnels, destinations)
        funnels: one row per intermediary with ``n_beneficiaries``, ``concentration``
        (share of amount to its top provider), ``cohort`` (share of its patients seen at
        a destination on a day shared with two others), ``far``, ``tadamon``,
        ``expensive`` (shares of lines), ``amount`` (at destinations) and ``score``;
        destinations: [intermediary_id, entity_type, entity_id, share, amount].
    """
    empty = (pd.DataFrame(columns=["intermediary_id", "n_beneficiaries", "score"]),
             pd.DataFrame(columns=["intermediary_id", "entity_type", "entity_id", "share", "amount"]))
    if members is None or len(members) == 0:
        return empty
    m = members[["intermediary_id", "beneficiary_id"]].drop_duplicates().astype(str)
    df = lines.merge(m, on="beneficiary_id", how="inner")
    if df.empty:
        return empty
    nb = df.groupby("intermediary_id")["beneficiary_id"].nunique()
    df = df[df["intermediary_id"].map(nb) >= min_beneficiaries]
    if df.empty:
        return empty
    total = df.groupby("intermediary_id")["amount_claimed"].sum()
    dests = []
    private = ~df["provider_type"].isin(public_types)
    for col, etype in (("provider_id", "PROVIDER"), ("doctor_id", "DOCTOR")):
        amt = df.loc[df[col].notna() & private].groupby(["intermediary_id", col])["amount_claimed"].sum().reset_index()
        amt.columns = ["intermediary_id", "entity_id", "amount"]
        amt["share"] = amt["amount"] / amt["intermediary_id"].map(total).clip(lower=1e-9)
        amt["entity_type"] = etype
        keep = amt["share"] >= min_share
        if etype == "PROVIDER":
            seen = df.loc[private].groupby(["intermediary_id", "provider_id"])["beneficiary_id"].nunique()
            seen = seen.reindex(pd.MultiIndex.from_frame(amt[["intermediary_id", "entity_id"]])).to_numpy(float)
            keep |= seen / amt["intermediary_id"].map(nb).to_numpy(float) >= min_patient_share
        dests.append(amt[keep])
    dest = pd.concat(dests, ignore_index=True).sort_values(
        ["intermediary_id", "entity_type", "share", "entity_id"], ascending=[True, True, False, True])
    top_share = dest[dest["entity_type"] == "PROVIDER"].groupby("intermediary_id")["share"].max()

    at_dest = df.merge(dest.loc[dest["entity_type"] == "PROVIDER", ["intermediary_id", "entity_id"]]
                       .rename(columns={"entity_id": "provider_id"}), on=["intermediary_id", "provider_id"])
    day_counts = at_dest.groupby(["intermediary_id", "provider_id", "service_date"])["beneficiary_id"].transform("nunique")
    cohort_benes = at_dest.loc[day_counts >= 3].groupby("intermediary_id")["beneficiary_id"].nunique()
    g = df.groupby("intermediary_id")
    out = pd.DataFrame({
        "n_beneficiaries": g["beneficiary_id"].nunique(),
        "concentration": top_share.reindex(nb.index).fillna(0.0),
        "far": g["far"].mean(),
        "tadamon": g["tadamon"].mean(),
        "expensive": g["expensive"].mean(),
        "amount": at_dest.groupby("intermediary_id")["amount_claimed"].sum(),
    }).dropna(subset=["n_beneficiaries"]).fillna(0.0)
    out["cohort"] = (cohort_benes.reindex(out.index).fillna(0) / out["n_beneficiaries"]).clip(0, 1)
    # Each trait is weak alone (families share a phone, regions have one big clinic); together they
    # describe a funnel, so the score multiplies them, scaled by how many patients it moved.
    out["score"] = (out["concentration"] * (0.25 + out["cohort"]) * (0.25 + out["far"])
                    * (0.25 + out["tadamon"]) * (0.25 + out["expensive"])
                    * np.log1p(out["n_beneficiaries"]) * 10)
    out = out.reset_index().rename(columns={"index": "intermediary_id"})
    return out.sort_values(["score", "intermediary_id"], ascending=[False, True]).reset_index(drop=True), dest


class FunnelDetector(Detector):
    """Inferred intermediaries funnelling households to one clinic.

    Parameters
    ----------
    min_beneficiaries : int
        Smallest number of linked beneficiaries with claims.
    min_share : float
        Share of the patients' amount that makes a provider or doctor a destination.
    min_patient_share : float
        Share of the patients seen at a provider that also makes it a destination.
    min_score : float
        Funnels scoring below are scored but not nominated as groups.
    """

    name = "funnels"

    def __init__(
        self,
        min_beneficiaries: int = default("funnels.min_beneficiaries"),
        min_share: float = default("funnels.min_share"),
        min_patient_share: float = default("funnels.min_patient_share"),
        min_score: float = default("funnels.min_score"),
    ):
        self.min_beneficiaries = min_beneficiaries
        self.min_share = min_share
        self.min_patient_share = min_patient_share
        self.min_score = min_score

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        members = getattr(context.intermediaries, "members", None)
        public = tuple(t.strip() for t in str(context.config.get("lines.public_types")).split(",") if t.strip())
        funnels, dest = funnel_table(context.lines, members, min_beneficiaries=self.min_beneficiaries,
                                     min_share=self.min_share, min_patient_share=self.min_patient_share,
                                     public_types=public)
        if funnels.empty:
            return None, None, {"funnels": 0, "nominated": 0}
        # The funnel strength of each intermediary against every other one's: most shared phones and
        # accounts are families and village numbers whose households go anywhere.
        strength = np.log1p(funnels["score"].to_numpy(float))
        cal = context.config.section("calibration")
        funnels["z"] = z_against(strength, strength, min_scale=cal["min_scale"])
        funnels["surprise"] = surprise(funnels["z"].to_numpy(), n_tested=len(funnels), df=cal["tail_df"])
        scores, groups = [], []
        m = members[["intermediary_id", "beneficiary_id"]].drop_duplicates().astype(str)
        benes_of = m.groupby("intermediary_id")["beneficiary_id"].apply(sorted)
        far_tad = context.lines.loc[context.lines["tadamon"] | context.lines["far"], "beneficiary_id"].unique()
        far_tad = set(far_tad)
        nominated = 0
        for f in funnels.itertuples(index=False):
            ev = (f"{f.n_beneficiaries} linked beneficiaries, {f.concentration:.0%} of their amount to one provider, "
                  f"{f.cohort:.0%} in same-day cohorts, {f.far:.0%} from another region, {f.tadamon:.0%} Tadamon, "
                  f"{f.expensive:.0%} expensive acts")
            scores.append(("INTERMEDIARY", f.intermediary_id, f.surprise, ev, f.amount))
            if f.score < self.min_score:
                continue
            nominated += 1
            gid = f"funnels-{f.intermediary_id}"
            groups.append((gid, "INTERMEDIARY", f.intermediary_id, "recruiter", f.surprise, ev))
            for d in dest[dest["intermediary_id"] == f.intermediary_id].itertuples(index=False):
                role = "destination" if d.entity_type == "PROVIDER" else "attending"
                dev = f"receives {d.share:.0%} of the amount of intermediary {f.intermediary_id}'s patients"
                groups.append((gid, d.entity_type, d.entity_id, role, f.surprise, dev))
                if d.entity_type == "PROVIDER" or d.share >= 0.5:
                    scores.append((d.entity_type, d.entity_id, f.surprise, dev, d.amount))
            for b in benes_of.get(f.intermediary_id, []):
                if b in far_tad:
                    groups.append((gid, "BENEFICIARY", b, "recruited_patient", f.surprise,
                                   f"linked to intermediary {f.intermediary_id} and sent to its destination"))
        return scores, groups, {"funnels": len(funnels), "nominated": nominated}
