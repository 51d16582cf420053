"""Which patients a ring lists: those whose own lines tie them to its pattern."""

from __future__ import annotations

import pandas as pd

from detectors.funnels import FunnelDetector
from detectors.phantoms import PhantomDetector
from ingest.schema import CLAIM_DTYPES


def _like(claims: pd.DataFrame, template: pd.Series, **changes) -> pd.DataFrame:
    """``claims`` plus one line copied from ``template`` with ``changes``."""
    row = template.to_dict() | changes
    extra = pd.DataFrame([row], columns=claims.columns)
    for col, dtype in CLAIM_DTYPES.items():
        extra[col] = extra[col].astype(dtype)
    return pd.concat([claims, extra], ignore_index=True)


def _listed(findings, role: str) -> set[str]:
    g = findings.groups
    return set(g.loc[g["role"] == role, "entity_id"])


def test_funnel_lists_unlinked_tadamon_patients_from_its_recruits_region_only(tiny_claims, planted_ring):
    surgery = tiny_claims[(tiny_claims["beneficiary_id"] == "BEN-R0") & (tiny_claims["act_family"] == "SURGERY")]
    template = surgery.iloc[0]
    own = dict(payee_account=None, submission_point_id="POINT-BIG", channel="AGENCY",
               prior_auth_id=None, service_date=pd.Timestamp("2025-03-14"), submission_date=pd.Timestamp("2025-03-14"))
    claims = _like(tiny_claims, template, claim_id="CLM-U1", beneficiary_id="BEN-U1", household_id="BEN-U1", contact_phone="PHONE-U1", **own)
    claims = _like(claims, template, claim_id="CLM-U2", beneficiary_id="BEN-U2", household_id="BEN-U2", contact_phone="PHONE-U2",
                   beneficiary_region="06", **own)
    claims = _like(claims, template, claim_id="CLM-U3", beneficiary_id="BEN-U3", household_id="BEN-U3", contact_phone="PHONE-U3",
                   beneficiary_region="10", **own)
    claims = _like(claims, template, claim_id="CLM-U4", beneficiary_id="BEN-U4", household_id="BEN-U4", contact_phone="PHONE-U4",
                   regime="SALARIES", **own)
    listed = _listed(FunnelDetector().fit(claims), "recruited_patient")
    # BEN-U1 came from region 08 like the recruiter's patients; a local patient, one from another region and
    # a salaried patient from 08 are the clinic's ordinary patients.
    assert listed == planted_ring["beneficiaries"] | {"BEN-U1"}


def test_phantom_biller_lists_far_elderly_patients_seen_nowhere_else_despite_a_consultation(pattern_claims):
    template = pattern_claims[pattern_claims["beneficiary_id"] == "BEN-P0"].iloc[0]
    consult = dict(act_family="CONSULTATION", act_code="C", amount_claimed=200.0, amount_reimbursed=160.0)
    claims = pattern_claims
    # BEN-P6: far, elderly, not Tadamon, consulted by the operating surgeon before: three traits, listed.
    # BEN-P7: the same but living in the clinic's region: not far, not listed.
    for bene, region in (("BEN-P6", "10"), ("BEN-P7", "04")):
        common = dict(beneficiary_id=bene, household_id=bene, regime="SALARIES", beneficiary_region=region)
        claims = _like(claims, template, claim_id=f"CLM-{bene}-1", service_date=pd.Timestamp("2025-03-02"),
                       submission_date=pd.Timestamp("2025-03-02"), **consult, **common)
        claims = _like(claims, template, claim_id=f"CLM-{bene}-2", service_date=pd.Timestamp("2025-03-20"),
                       submission_date=pd.Timestamp("2025-03-20"), **common)
    listed = _listed(PhantomDetector().fit(claims), "phantom_patient")
    assert listed == {f"BEN-P{k}" for k in range(7)}


def _spread_cohort_claims(tiny: pd.DataFrame, *, tie: str, days_apart: int = 2) -> pd.DataFrame:
    """``tiny`` plus twenty ordinary people of region 08 at their own pharmacy, and eight Tadamon households of
    region 08 each brought on its own day to a clinic of region 06 for a consultation, their usual pharmacy at
    home taking half their amount (no cohort, half the amount at the clinic): tied by one phone and one payee
    account (``tie="phone"``), declared with one referrer (``tie="referrer"``) or both declared and sharing one
    village phone (``tie="village"``); ``days_apart`` = 0 brings them all on one day."""
    template = tiny.iloc[0]
    claims = tiny
    for k in range(20):
        claims = _like(claims, template, claim_id=f"CLM-H{k}", beneficiary_id=f"BEN-H{k}", household_id=f"BEN-H{k}",
                       beneficiary_region="08", provider_id="PRV-PHARMA-08", provider_type="PHARMACY",
                       provider_region="08", act_family="MEDICATION", act_code="MED1", amount_claimed=200.0,
                       contact_phone=f"PHONE-H{k}", submission_point_id=None)
    for k in range(8):
        day = pd.Timestamp("2025-03-03") + pd.Timedelta(days=days_apart * k)
        ties = {"phone": dict(contact_phone="PHONE-F", payee_account="RIB-F", referrer_id=None),
                "referrer": dict(contact_phone=f"PHONE-V{k}", payee_account=None, referrer_id="REF-COORD"),
                "village": dict(contact_phone="PHONE-VILLAGE", payee_account=None, referrer_id="REF-COORD")}[tie]
        common = dict(beneficiary_id=f"BEN-F{k}", household_id=f"BEN-F{k}", regime="TADAMON", beneficiary_region="08",
                      submission_point_id=f"POINT-{k}", service_date=day, submission_date=day, **ties)
        claims = _like(claims, template, claim_id=f"CLM-F{k}", provider_id="PRV-CLINIC-F", provider_type="CLINIC",
                       provider_region="06", doctor_id="DOC-F", act_family="CONSULTATION", act_code="CS",
                       amount_claimed=300.0, **common)
        claims = _like(claims, template, claim_id=f"CLM-G{k}", provider_id="PRV-PHARMA-08", provider_type="PHARMACY",
                       provider_region="08", doctor_id=None, act_family="MEDICATION", act_code="MED1",
                       amount_claimed=300.0, **common)
    return claims


def test_funnel_spread_over_days_is_nominated_by_its_far_arrivals_when_tied_by_phone_and_account(tiny_claims):
    f = FunnelDetector().fit(_spread_cohort_claims(tiny_claims, tie="phone"))
    recruiter = f.groups[f.groups["role"] == "recruiter"]
    members = f.groups[f.groups["group_id"].isin(set(recruiter["group_id"]))]
    assert "PRV-CLINIC-F" in set(members["entity_id"])
    assert {f"BEN-F{k}" for k in range(8)} <= _listed(f, "recruited_patient")


def test_declared_referrer_with_the_same_arrivals_is_not_nominated_on_them_alone(tiny_claims):
    f = FunnelDetector().fit(_spread_cohort_claims(tiny_claims, tie="referrer"))
    assert "PRV-CLINIC-F" not in set(f.groups["entity_id"])
    scores = f.scores.set_index("entity_id")
    assert scores["score"].max() >= FunnelDetector().min_surprise


def test_a_declared_referrer_whose_villagers_all_came_in_one_campaign_is_scored_zero_and_not_nominated(tiny_claims):
    f = FunnelDetector().fit(_spread_cohort_claims(tiny_claims, tie="referrer", days_apart=0))
    assert "PRV-CLINIC-F" not in set(f.groups["entity_id"])
    campaign = f.scores[f.scores["evidence"].str.contains("one declared campaign")]
    assert len(campaign) == 1 and float(campaign["score"].iloc[0]) == 0.0


def test_villagers_of_one_campaign_sharing_a_village_phone_are_still_a_declared_campaign(tiny_claims):
    f = FunnelDetector().fit(_spread_cohort_claims(tiny_claims, tie="village", days_apart=0))
    assert "PRV-CLINIC-F" not in set(f.groups["entity_id"])
    assert f.scores["evidence"].str.contains("one declared campaign").sum() == 1


def test_the_same_one_day_cohort_tied_by_a_phone_and_account_is_still_a_funnel(tiny_claims):
    f = FunnelDetector().fit(_spread_cohort_claims(tiny_claims, tie="phone", days_apart=0))
    recruiter = f.groups[f.groups["role"] == "recruiter"]
    members = f.groups[f.groups["group_id"].isin(set(recruiter["group_id"]))]
    assert "PRV-CLINIC-F" in set(members["entity_id"])
