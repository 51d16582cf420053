"""Recruiter funnels: an inferred intermediary whose households are sent to one clinic.

The signature of a rabatteur: the households linked by an intermediary
(``graph.intermediaries``) go mostly to one provider, on the same days, from
another region, mostly under AMO Tadamon, mostly for expensive acts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from detectors.base import DetectionContext, Detector
from detectors.calibration import surprise_of_p
from detectors.config import default
from detectors.findings import Rows
from ingest.encode import IdCodes

__all__ = ["funnel_table", "far_arrivals", "campaign_shares", "FunnelDetector"]


def funnel_table(lines: pd.DataFrame, members: pd.DataFrame, *, min_beneficiaries: int = 3,
                 min_share: float = 0.2, min_patient_share: float = 0.5,
                 public_types: tuple[str, ...] = ("HOSPITAL",),
                 min_cohort: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    min_cohort : int
        Patients of the intermediary seen at a destination the same day that make a cohort.

    Returns
    -------
    (funnels, destinations)
        funnels: one row per intermediary with ``n_beneficiaries``, ``concentration``
        (share of amount to its top provider), ``cohort`` (share of its patients seen at
        a destination on a day shared with ``min_cohort - 1`` others), ``far``, ``tadamon``,
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
    cohort_benes = at_dest.loc[day_counts >= min_cohort].groupby("intermediary_id")["beneficiary_id"].nunique()
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


def far_arrivals(lines: pd.DataFrame, members: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
    """How many of an intermediary's patients reached each destination from another region, against
    how many would if they chose providers as the other people of their home regions do.

    For a destination ``P`` and the intermediary's patients living outside ``P``'s region, the expected
    number seen at ``P`` is the sum over them of the share of the other patients of their home region
    seen at ``P`` (the intermediary's own patients left out, plus half a patient so that a provider
    nobody else from there uses is rare, not impossible). Neighbours who share a village phone and
    their local doctor are not counted: only arrivals from another region are.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines`` (regions filled).
    members : DataFrame
        ``Intermediaries.members`` [intermediary_id, beneficiary_id].
    dest : DataFrame
        The destinations of :func:`funnel_table`.

    Returns
    -------
    DataFrame
        intermediary_id, provider_id, arrived (patients from another region seen there), expected.
    """
    cols = ["intermediary_id", "provider_id", "arrived", "expected"]
    d = dest.loc[dest["entity_type"] == "PROVIDER", ["intermediary_id", "entity_id"]].rename(
        columns={"entity_id": "provider_id"})
    if d.empty:
        return pd.DataFrame(columns=cols)
    d["provider_id"] = d["provider_id"].astype(str)
    seen = lines[["beneficiary_id", "provider_id", "beneficiary_region", "provider_region"]].drop_duplicates(
        ["beneficiary_id", "provider_id"])
    seen = seen.assign(beneficiary_id=seen["beneficiary_id"].astype(str), provider_id=seen["provider_id"].astype(str),
                       home=seen["beneficiary_region"].astype(object), there=seen["provider_region"].astype(object))
    home = seen.drop_duplicates("beneficiary_id").set_index("beneficiary_id")["home"]
    region_of = seen.dropna(subset=["there"]).drop_duplicates("provider_id").set_index("provider_id")["there"]
    people = home.dropna().value_counts()  # N_r
    at_dest = seen[seen["provider_id"].isin(set(d["provider_id"]))]
    at = at_dest.groupby(["provider_id", "home"]).size()  # n_P,r
    m = members[["intermediary_id", "beneficiary_id"]].drop_duplicates().astype(str)
    m = m.assign(home=m["beneficiary_id"].map(home)).dropna(subset=["home"])
    visited = set(zip(at_dest["beneficiary_id"], at_dest["provider_id"]))
    rows = []
    for (iid, pid), _ in d.groupby(["intermediary_id", "provider_id"], sort=True):
        mine = m[(m["intermediary_id"] == iid) & (m["home"] != region_of.get(pid))]
        if mine.empty:
            rows.append((iid, pid, 0, 0.0))
            continue
        was_at = np.array([(b, pid) in visited for b in mine["beneficiary_id"]])
        own_r = mine.groupby("home").size()
        own_at = mine[was_at].groupby("home").size()
        expected = 0.0
        for r, n_own in own_r.items():
            others = float(people.get(r, 0)) - n_own
            share = (float(at.get((pid, r), 0)) - float(own_at.get(r, 0)) + 0.5) / (max(others, 0.0) + 1.0)
            expected += n_own * min(max(share, 0.0), 1.0)
        rows.append((iid, pid, int(was_at.sum()), expected))
    return pd.DataFrame(rows, columns=cols)


def campaign_shares(lines: pd.DataFrame, members: pd.DataFrame, dest: pd.DataFrame, *, days: int,
                    codes: IdCodes | None = None) -> pd.Series:
    """Share of an intermediary's patients whose first visit to its destinations falls in its busiest
    window of ``days`` days.

    A recruiter buses people week after week; an NGO caravan screens a commune's villagers together and
    operates those the screening indicated within days: nearly every patient's first visit falls in one short
    campaign (a villager who had seen the clinic before for ordinary care is the exception, not a second trip).

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    members : DataFrame
        ``Intermediaries.members`` [intermediary_id, beneficiary_id].
    dest : DataFrame
        The destinations of :func:`funnel_table` (providers and doctors: the screening may be billed by the
        surgeon's practice, the operation by the clinic).
    days : int
        The window: first visits from one day to ``days`` days after it.
    codes : IdCodes, optional
        The lines' identifier codes (``DetectionContext.codes``); made here when absent.

    Returns
    -------
    Series
        Share in [0, 1], indexed by intermediary_id (intermediaries whose patients never reached a destination
        are absent).
    """
    if dest.empty:
        return pd.Series(dtype=float)
    m = members[["intermediary_id", "beneficiary_id"]].drop_duplicates().astype(str)
    d = dest[["intermediary_id", "entity_id"]].astype(str).drop_duplicates()
    # the members' lines by the codes' row index, not a scan of the window's text
    sel = lines[["beneficiary_id", "provider_id", "doctor_id", "service_date"]].iloc[
        (codes or IdCodes(lines)).rows("beneficiary_id", set(m["beneficiary_id"]))]
    sel = sel.assign(beneficiary_id=sel["beneficiary_id"].astype(str), provider_id=sel["provider_id"].astype(str),
                     doctor_id=sel["doctor_id"].astype(str)).merge(m, on="beneficiary_id")
    firsts = []
    for col in ("provider_id", "doctor_id"):
        at = sel.merge(d, left_on=["intermediary_id", col], right_on=["intermediary_id", "entity_id"])
        firsts.append(at[["intermediary_id", "beneficiary_id", "service_date"]])
    first = pd.concat(firsts).groupby(["intermediary_id", "beneficiary_id"])["service_date"].min()
    out = {}
    for iid, dates in first.groupby(level="intermediary_id", sort=True):
        day = np.sort(dates.to_numpy("datetime64[D]").astype(np.int64))
        # For each first visit, how many fall in the window it opens.
        within = np.searchsorted(day, day + days, side="right") - np.arange(len(day))
        out[iid] = float(within.max()) / len(day)
    return pd.Series(out, dtype=float)


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
        Funnels scoring below are scored but not nominated as groups (unless ``min_surprise``).
    min_surprise : float
        Surprise of the far arrivals at its top destination that nominates a funnel tied by a phone or a
        payee account whatever its score...
    min_tadamon_share : float
        ... when at least this share of its patients' lines are Tadamon.
    min_cohort : int
        Patients seen at a destination the same day that make a cohort.
    doctor_score_share : float
        Share of the patients' amount a destination doctor must receive to take the funnel's score.
    campaign_days : int
        Length of a campaign, in days.
    campaign_share : float
        An intermediary tied only by a declared referrer (or a submission point), or whose referrer most of its
        households wrote (``campaign_declared_share``), with at least this share of its patients first reaching
        its destinations within ``campaign_days`` days, is one declared campaign (an NGO caravan): scored 0 with
        that evidence, never nominated.
    campaign_declared_share : float
        Share of its households that wrote one declared referrer that makes an intermediary declared whatever
        else ties it (villagers sharing a village phone).
    """

    name = "funnels"

    def __init__(
        self,
        min_beneficiaries: int = default("funnels.min_beneficiaries"),
        min_share: float = default("funnels.min_share"),
        min_patient_share: float = default("funnels.min_patient_share"),
        min_score: float = default("funnels.min_score"),
        min_surprise: float = default("funnels.min_surprise"),
        min_tadamon_share: float = default("funnels.min_tadamon_share"),
        min_cohort: int = default("funnels.min_cohort"),
        doctor_score_share: float = default("funnels.doctor_score_share"),
        campaign_days: int = default("funnels.campaign_days"),
        campaign_share: float = default("funnels.campaign_share"),
        campaign_declared_share: float = default("funnels.campaign_declared_share"),
    ):
        self.min_beneficiaries = min_beneficiaries
        self.min_share = min_share
        self.min_patient_share = min_patient_share
        self.min_score = min_score
        self.min_surprise = min_surprise
        self.min_tadamon_share = min_tadamon_share
        self.min_cohort = min_cohort
        self.doctor_score_share = doctor_score_share
        self.campaign_days = campaign_days
        self.campaign_share = campaign_share
        self.campaign_declared_share = campaign_declared_share

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        members = getattr(context.intermediaries, "members", None)
        public = context.config.names("lines.public_types")
        funnels, dest = funnel_table(context.lines, members, min_beneficiaries=self.min_beneficiaries,
                                     min_share=self.min_share, min_patient_share=self.min_patient_share,
                                     public_types=public, min_cohort=self.min_cohort)
        if funnels.empty:
            return None, None, {"funnels": 0, "nominated": 0}
        # Patients from another region arriving together at one provider, against how the other people of
        # their regions choose providers; corrected for every intermediary x provider that could have shown it.
        arrivals = far_arrivals(context.lines, members, dest)
        n_providers = int(context.lines["provider_id"].nunique())
        arrivals["surprise"] = [float(surprise_of_p(stats.poisson.sf(k - 1, max(mu, 1e-12)) * len(funnels)
                                                    * n_providers)) if k else 0.0
                                for k, mu in zip(arrivals["arrived"], arrivals["expected"])]
        best = arrivals.sort_values(["surprise", "provider_id"], ascending=[False, True]).drop_duplicates(
            "intermediary_id").set_index("intermediary_id")
        funnels["surprise"] = best["surprise"].reindex(funnels["intermediary_id"]).fillna(0.0).to_numpy()
        funnels["arrived"] = best["arrived"].reindex(funnels["intermediary_id"]).fillna(0).astype(int).to_numpy()
        funnels["arrived_expected"] = best["expected"].reindex(funnels["intermediary_id"]).fillna(0.0).to_numpy()
        scores, groups = [], []
        m = members[["intermediary_id", "beneficiary_id"]].drop_duplicates().astype(str)
        benes_of = m.groupby("intermediary_id")["beneficiary_id"].apply(sorted)
        far_tad = context.lines.loc[context.lines["tadamon"] | context.lines["far"], "beneficiary_id"].unique()
        far_tad = set(far_tad)
        links = getattr(context.intermediaries, "links", None)
        covert = set() if links is None else set(
            links.loc[links["identifier_type"].isin(("PHONE", "ACCOUNT")), "intermediary_id"].astype(str))
        campaign = campaign_shares(context.lines, members, dest, days=self.campaign_days, codes=context.codes)
        declared = _declared(context.intermediaries, self.campaign_declared_share) | (
            set(funnels["intermediary_id"]) - covert)
        nominated = campaigns = 0
        for f in funnels.itertuples(index=False):
            ev = (f"{f.n_beneficiaries} linked beneficiaries, {f.concentration:.0%} of their amount to one provider, "
                  f"{f.cohort:.0%} in same-day cohorts, {f.far:.0%} from another region, {f.tadamon:.0%} Tadamon, "
                  f"{f.expensive:.0%} expensive acts; {f.arrived} of them came from another region to one provider "
                  f"where {f.arrived_expected:.2f} were expected from how their regions choose providers")
            # A declared coordinator whose villagers came in one campaign of a few days is a caravan: a recruiter
            # hides behind his phones and accounts and buses people again.
            share = campaign.get(f.intermediary_id, 0.0)
            if f.intermediary_id in declared and share >= self.campaign_share:
                campaigns += 1
                scores.append(("INTERMEDIARY", f.intermediary_id, 0.0,
                               f"{ev}; tied by a declared referrer, {share:.0%} of its patients first seen at its "
                               f"destinations within {self.campaign_days} days: one declared campaign, not a funnel",
                               f.amount))
                continue
            scores.append(("INTERMEDIARY", f.intermediary_id, f.surprise, ev, f.amount))
            # Nominated by its traits together, or by its calibrated surprise among mostly Tadamon patients tied
            # by a phone or a payee account: camouflaged cohorts spread over several days and destinations, which
            # the traits' product reads as no funnel; an NGO caravan brings villagers of every regime under its
            # declared coordinator (a referrer), and is paid nothing on their dossiers.
            by_surprise = (f.surprise >= self.min_surprise and f.tadamon >= self.min_tadamon_share
                           and f.intermediary_id in covert)
            if f.score < self.min_score and not by_surprise:
                continue
            nominated += 1
            gid = f"funnels-{f.intermediary_id}"
            groups.append((gid, "INTERMEDIARY", f.intermediary_id, "recruiter", f.surprise, ev))
            for d in dest[dest["intermediary_id"] == f.intermediary_id].itertuples(index=False):
                role = "destination" if d.entity_type == "PROVIDER" else "attending"
                dev = f"receives {d.share:.0%} of the amount of intermediary {f.intermediary_id}'s patients"
                groups.append((gid, d.entity_type, d.entity_id, role, f.surprise, dev))
                if d.entity_type == "PROVIDER" or d.share >= self.doctor_score_share:
                    scores.append((d.entity_type, d.entity_id, f.surprise, dev, d.amount))
            linked = [b for b in benes_of.get(f.intermediary_id, []) if b in far_tad]
            for b in linked:
                groups.append((gid, "BENEFICIARY", b, "recruited_patient", f.surprise,
                               f"linked to intermediary {f.intermediary_id} and sent to its destination"))
            for b, ev_b in _arrivals_alike(context.lines, f.intermediary_id, best, dest, set(linked), benes_of,
                                           codes=context.codes):
                groups.append((gid, "BENEFICIARY", b, "recruited_patient", f.surprise, ev_b))
        return scores, groups, {"funnels": len(funnels), "nominated": nominated, "declared_campaigns": campaigns}


def _declared(intermediaries: Any, min_share: float) -> set[str]:
    """Intermediaries one of whose declared referrers was written by at least ``min_share`` of their households."""
    links, table = getattr(intermediaries, "links", None), getattr(intermediaries, "table", None)
    if links is None or table is None or links.empty:
        return set()
    ref = links[links["identifier_type"] == "REFERRER"].groupby("intermediary_id")["n_households"].max()
    households = table.set_index("intermediary_id")["n_households"].reindex(ref.index)
    return set(ref.index[(ref / households.clip(lower=1)).to_numpy(float) >= min_share].astype(str))


def _arrivals_alike(lines: pd.DataFrame, iid: str, best: pd.DataFrame, dest: pd.DataFrame, listed: set[str],
                    benes_of: pd.Series, *, codes: IdCodes | None = None) -> list[tuple[str, str]]:
    """Tadamon patients no identifier links to the intermediary who came to its main destination (the
    provider taking most of its patients' amount) from a home region of the patients it links there (not
    the provider's own): a recruiter who lets some of his patients write their own phone and file at their
    usual point still brings them from where he recruits. Only for a funnel whose patients arrived from
    elsewhere. Each with one sentence of evidence."""
    if iid not in best.index or not best.at[iid, "arrived"]:
        return []
    # The provider taking most of their amount (the clinic): the lab and imaging centre next to it also
    # serve the city's visitors from everywhere.
    mine_dest = dest[(dest["intermediary_id"] == iid) & (dest["entity_type"] == "PROVIDER")]
    if mine_dest.empty:
        return []
    pids = {str(mine_dest.sort_values(["share", "entity_id"], ascending=[False, True])["entity_id"].iloc[0])}
    # the provider's lines by the codes' row index (each funnel scanning the window's text cost a national
    # window most of this detector)
    at = lines[["beneficiary_id", "beneficiary_region", "provider_id", "provider_region", "tadamon"]].iloc[
        (codes or IdCodes(lines)).rows("provider_id", pids)]
    at = at.assign(bid=at["beneficiary_id"].astype(str), pid=at["provider_id"].astype(str),
                   home=at["beneficiary_region"].astype(str), there=at["provider_region"].astype(str))
    mine = set(benes_of.get(iid, []))
    homes = at.loc[at["bid"].isin(mine) & (at["home"] != at["there"]), ["pid", "home"]].drop_duplicates()
    if homes.empty:
        return []
    hit = at.merge(homes, on=["pid", "home"])
    hit = hit[~hit["bid"].isin(listed | mine)]
    per = hit.groupby("bid", sort=True).agg(tadamon=("tadamon", "all"), home=("home", "first"), pid=("pid", "min"))
    per = per[per["tadamon"]]
    return [(b, f"Tadamon, came to {p} from region {r}, where intermediary {iid}'s patients seen there live")
            for b, r, p in zip(per.index, per["home"], per["pid"])]
