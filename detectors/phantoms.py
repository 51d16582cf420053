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

from detectors.base import DetectionContext, Detector
from detectors.config import default
from detectors.findings import Rows

__all__ = ["phantom_patients", "robust_rate", "PhantomDetector"]

_ROBUST_STEPS = 10


def phantom_patients(lines: pd.DataFrame, *, min_age: int = 60, min_traits: int = 3,
                     screening_cohort: int = 0) -> pd.DataFrame:
    """Beneficiaries with phantom traits, and the provider that billed them.

    Only patients with surgery or a stay are looked at. Traits: lives in another
    region than the provider, aged ``min_age`` or more, seen nowhere else than at the
    provider that billed the surgery or stay (the practices of the doctors attending
    them there do not count: a fabricated pre-operative consultation is billed that
    way), surgery or stay without a prior consultation, Tadamon. Patients far, elderly and
    seen nowhere else (what defines a phantom: a fabricated consultation or a non-Tadamon
    regime hides the other two) with at least ``min_traits`` of the five are phantom-like.

    A patient consulted before the operation by one of its doctors on a day that doctor saw
    ``screening_cohort`` or more patients of the patient's home region is a screened patient,
    not phantom-like: a health campaign screens a commune's villagers together and operates
    those the screening indicated, where a phantom's consultation, when one is fabricated,
    is written alone.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    min_age : int
    min_traits : int
    screening_cohort : int
        0: no patient counts as screened.

    Returns
    -------
    DataFrame
        beneficiary_id, provider_id, n_traits, amount (what the provider billed for
        them), phantom (bool), screened (bool).
    """
    all_lines = lines
    heavy = lines["act_family"].isin(("SURGERY", "HOSPITAL_STAY")).to_numpy(bool)
    # Only patients with surgery or a stay can be phantoms: the rest is left out early.
    lines = lines.loc[lines["beneficiary_id"].isin(set(lines.loc[heavy, "beneficiary_id"]))]
    heavy = lines["act_family"].isin(("SURGERY", "HOSPITAL_STAY")).to_numpy(bool)
    g = lines.groupby("beneficiary_id")
    # The provider that billed the patient's heavy care, and the doctors attending it there.
    # (the one billing most of it, then the smallest id: whatever the row order)
    billed = lines.loc[heavy].groupby(["beneficiary_id", "provider_id"], observed=True)["amount_claimed"].sum()
    billed = billed.reset_index().sort_values(["beneficiary_id", "amount_claimed", "provider_id"],
                                              ascending=[True, False, True], kind="mergesort")
    main = billed.drop_duplicates("beneficiary_id").set_index("beneficiary_id")["provider_id"]
    bene = lines["beneficiary_id"].to_numpy(object)
    at_main = lines["provider_id"].to_numpy(object) == lines["beneficiary_id"].map(main).to_numpy(object)
    attending = pd.MultiIndex.from_arrays([bene[at_main], lines["doctor_id"].to_numpy(object)[at_main]])
    # Seen nowhere else: a consultation billed by the practice of the surgeon who operates (a fabricated
    # pre-operative visit is written that way) does not count as being seen elsewhere.
    own = at_main | pd.MultiIndex.from_arrays([bene, lines["provider_id"].to_numpy(object)]).isin(attending)
    per = pd.DataFrame({
        "n_providers": g["provider_id"].nunique(),
        "elsewhere": pd.Series(~own, index=lines.index).groupby(lines["beneficiary_id"]).any(),
        # Far, or from nowhere known: a biller that writes no region on the dossiers of patients seen nowhere else
        # leaves their home unknown, and that hides no one from being far.
        "far": g["far"].all() | g["beneficiary_region"].count().eq(0),
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
    per["phantom"] = (traits >= min_traits) & fh.notna() & per["isolated"] & per["far"] & (per["age"] >= min_age)
    per["screened"] = False
    if screening_cohort > 0 and per["phantom"].any():
        screened = _screened(all_lines, attending, set(per.index[per["phantom"]]), fh, screening_cohort)
        per["screened"] = per.index.isin(screened)
        per["phantom"] &= ~per["screened"]
    return per.reset_index()[["beneficiary_id", "provider_id", "n_traits", "amount", "far", "phantom", "screened"]]


def _screened(lines: pd.DataFrame, attending: pd.MultiIndex, candidates: set, first_heavy: pd.Series,
              cohort: int) -> set:
    """Of ``candidates``, the patients consulted by one of the doctors attending them at the provider that
    operated them, on or before their first operation, on a day that doctor consulted at least ``cohort``
    patients of their home region (every consultation of the day counts: the screened villagers who were not
    operated too)."""
    pairs = pd.DataFrame({"beneficiary_id": attending.get_level_values(0), "doctor_id": attending.get_level_values(1)})
    pairs = pairs[pairs["beneficiary_id"].isin(candidates)].dropna().drop_duplicates()
    if pairs.empty:
        return set()
    consult = lines.loc[(lines["act_family"] == "CONSULTATION").to_numpy(bool)
                        & lines["doctor_id"].isin(set(pairs["doctor_id"])).to_numpy(bool),
                        ["beneficiary_id", "doctor_id", "service_date", "beneficiary_region"]]
    consult = consult.astype({"beneficiary_id": object, "doctor_id": object, "beneficiary_region": object})
    consult = consult.drop_duplicates(["beneficiary_id", "doctor_id", "service_date"])
    size = consult.groupby(["doctor_id", "service_date", "beneficiary_region"],
                           dropna=False)["beneficiary_id"].transform("size")
    mine = consult[(size >= cohort).to_numpy(bool)].merge(pairs, on=["beneficiary_id", "doctor_id"])
    mine = mine[mine["service_date"].to_numpy() <= mine["beneficiary_id"].map(first_heavy).to_numpy()]
    return set(mine["beneficiary_id"])


def robust_rate(k: np.ndarray, n: np.ndarray, *, outlier_surprise: float = 1.0) -> float:
    """Pooled rate of ``k`` events among ``n`` trials over peers, leaving out the peers that are outliers
    at the current rate (binomial tail times the peers: surprise above ``outlier_surprise``), until the
    set settles; half an event is added so that the rate is never zero.

    Parameters
    ----------
    k, n : numpy.ndarray
        Each peer's events and trials.
    outlier_surprise : float
        Peers at least this surprising at the current rate are left out.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = np.ones(len(k), dtype=bool)
    for _ in range(_ROBUST_STEPS):
        rate = (k[keep].sum() + 0.5) / (n[keep].sum() + 1.0)
        inlier = stats.binom.sf(k - 1, n, rate) * len(k) >= 10.0 ** -outlier_surprise
        if (inlier == keep).all():
            break
        keep = inlier
    return float((k[keep].sum() + 0.5) / (n[keep].sum() + 1.0))


def _peer_surprise(k: pd.Series, n: pd.Series, ptype: pd.Series, outlier: float
                   ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each provider's surprise at ``k`` phantom-like patients among ``n``, against the robust rate of the
    providers of its type (binomial tail x the providers compared; not clipped at zero, so that "1 of its 72
    patients" ranks below what other detectors find remarkable), the rate, and ``n``; indexed by provider."""
    k = k.reindex(n.index).fillna(0).astype(int)
    score = pd.Series(0.0, index=n.index)
    rate_of = pd.Series(0.0, index=n.index)
    for _, idx in n.groupby(ptype.reindex(n.index).to_numpy()).groups.items():
        rate = robust_rate(k[idx].to_numpy(), n[idx].to_numpy(), outlier_surprise=outlier)
        rate_of[idx] = rate
        log_p = stats.binom.logsf(k[idx].to_numpy() - 1, n[idx].to_numpy(), rate) / np.log(10.0)
        score[idx] = -(log_p + np.log10(len(idx)))
    return score, rate_of, n


class PhantomDetector(Detector):
    """Providers billing many phantom-like patients, against peers of their type.

    The count of phantom-like patients among a provider's patients with surgery or a stay
    is read against the rate of the providers of its type (binomial tail, times the
    providers compared), the rate estimated robustly (:func:`robust_rate`, outliers left out): a
    few phantom clinics would otherwise raise their peers' rate until they look ordinary.

    Parameters
    ----------
    min_age : int
    min_traits : int
        Of the five phantom traits.
    screening_cohort : int
        Patients of one home region a doctor consulted the same day that make a screening: the operated ones
        among them are not phantom-like.
    min_phantoms : int
        Fewest phantom-like patients for a provider to be nominated.
    min_surprise : float
        Surprise of its phantom-like patients, against the rate of its peers, needed to nominate.
    min_doctor_share : float
        Share of the acts billed for its phantom-like patients a doctor must attend to be in the ring.
    min_doctor_acts : int
        ... and at least this many acts.
    """

    name = "phantoms"

    def __init__(
        self,
        min_age: int = default("phantoms.min_age"),
        min_traits: int = default("phantoms.min_traits"),
        screening_cohort: int = default("phantoms.screening_cohort"),
        min_phantoms: int = default("phantoms.min_phantoms"),
        min_surprise: float = default("phantoms.min_surprise"),
        min_doctor_share: float = default("phantoms.min_doctor_share"),
        min_doctor_acts: int = default("phantoms.min_doctor_acts"),
    ):
        self.min_age = min_age
        self.min_traits = min_traits
        self.screening_cohort = screening_cohort
        self.min_phantoms = min_phantoms
        self.min_surprise = min_surprise
        self.min_doctor_share = min_doctor_share
        self.min_doctor_acts = min_doctor_acts

    def _run(self, context: DetectionContext) -> tuple[Rows, Rows, dict[str, Any]]:
        lines = context.lines
        per = phantom_patients(lines, min_age=self.min_age, min_traits=self.min_traits,
                               screening_cohort=self.screening_cohort)
        # Public hospitals treat referred Tadamon patients from afar, admitted without a consultation, by design.
        public = set(context.config.names("lines.public_types"))
        public_ids = set(lines.loc[lines["provider_type"].isin(public), "provider_id"])
        per = per[~per["provider_id"].isin(public_ids)]
        # Against the provider's patients with surgery or a stay (the only ones who can be phantoms), and against
        # those of them from another region (or of unknown home: as many as its catchment brings, many at a
        # referral clinic): both must find more phantom-like patients than its peers have.
        ptype_of = lines.groupby("provider_id")["provider_type"].first()
        outlier = context.config.get("calibration.rate_outlier_surprise")
        ph = per[per["phantom"]]
        n_ph = ph.groupby("provider_id").size()
        tests = [_peer_surprise(n_ph, per.groupby("provider_id").size(), ptype_of, outlier),
                 _peer_surprise(n_ph, per[per["far"]].groupby("provider_id").size(), ptype_of, outlier)]
        weaker = np.argmin(np.column_stack([t[0].reindex(n_ph.index).to_numpy() for t in tests]), axis=1)

        def chosen(j: int, dtype: type) -> pd.Series:
            """Field ``j`` of each provider's weaker test (score, rate, patients compared)."""
            return pd.Series([tests[w][j][pid] for w, pid in zip(weaker, n_ph.index)], index=n_ph.index, dtype=dtype)

        score_of, rate_of, patients = chosen(0, float), chosen(1, float), chosen(2, int)
        among = pd.Series(["" if w == 0 else " from another region" for w in weaker], index=n_ph.index)
        scores, groups = [], []
        nominated = 0
        # Each provider's rows of ``ph`` and its phantom patients' lines with a doctor, found once (positions
        # in row order, so each sum and count is the one a filter per provider gave).
        rows_of = ph.groupby("provider_id").indices
        amounts = ph["amount"].to_numpy(float)
        attended = lines.loc[lines["beneficiary_id"].isin(set(ph["beneficiary_id"])) & lines["doctor_id"].notna(),
                             ["beneficiary_id", "doctor_id"]]
        for pid in sorted(n_ph[n_ph > 0].index):
            k, score = int(n_ph[pid]), float(score_of[pid])
            amount = float(pd.Series(amounts[rows_of[pid]]).sum())
            ev = (f"{k} of its {int(patients[pid])} patients{among[pid]} with surgery or a stay look like phantoms "
                  f"(far, elderly, seen nowhere else), where its peers have {rate_of[pid]:.1%}")
            scores.append(("PROVIDER", pid, score, ev, amount))
            if k < self.min_phantoms or score < self.min_surprise:
                continue
            nominated += 1
            gid = f"phantoms-{pid}"
            groups.append((gid, "PROVIDER", pid, "phantom_biller", score, ev))
            mine = ph["beneficiary_id"].iloc[rows_of[pid]]
            docs = attended[attended["beneficiary_id"].isin(set(mine))].groupby("doctor_id").size()
            for doc, c in docs[docs >= max(self.min_doctor_acts, self.min_doctor_share * docs.sum())].sort_index().items():
                groups.append((gid, "DOCTOR", doc, "attending", score,
                               f"attends {c} acts billed for phantom-like patients of {pid}"))
            for b in sorted(mine):
                groups.append((gid, "BENEFICIARY", b, "phantom_patient", score,
                               f"far, elderly, seen only by {pid} (and its surgeons' practices)"))
        return scores, groups, {"phantom_patients": int(per["phantom"].sum()), "nominated": nominated}
