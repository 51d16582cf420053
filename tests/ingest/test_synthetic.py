"""The synthetic generator: contract-valid, reproducible, realistic background, planted rings."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES, ENUMS, LABEL_COLUMNS, PROVIDER_COLUMNS
from ingest.synthetic import SCENARIOS, generate, generate_frames
from ground.errors import InputRefused


@pytest.fixture(scope="module")
def data():
    return generate_frames(scale=0.05, weeks=8, seed=7)


@pytest.fixture(scope="module")
def camouflaged():
    return generate_frames(scale=0.05, weeks=8, seed=7, camouflage=1.0)


def _digest(paths: dict) -> dict:
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in paths.items()}


def _fraud_claims(data, scenario: str) -> pd.DataFrame:
    labels = data.labels
    ids = labels.loc[(labels.entity_type == "CLAIM") & (labels.scenario == scenario), ["entity_id", "ring_id"]]
    return data.claims.merge(ids.rename(columns={"entity_id": "claim_id"}), on="claim_id")


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    a = _digest(generate(tmp_path / "a", scale=0.02, weeks=3, seed=3))
    b = _digest(generate(tmp_path / "b", scale=0.02, weeks=3, seed=3))
    c = _digest(generate(tmp_path / "c", scale=0.02, weeks=3, seed=4))
    assert a == b
    assert a["claims"] != c["claims"]
    assert a["labels"] != c["labels"]


def test_written_files_hold_the_same_rows_as_the_frames(tmp_path):
    paths = generate(tmp_path, scale=0.02, weeks=2, seed=5)
    frames = generate_frames(scale=0.02, weeks=2, seed=5)
    read = pd.read_csv(paths["claims"], dtype=str, keep_default_na=False)
    assert tuple(read.columns) == CLAIM_COLUMNS
    assert len(read) == len(frames.claims)
    assert read.claim_id.tolist() == frames.claims.claim_id.tolist()
    assert np.allclose(read.amount_claimed.astype(float), frames.claims.amount_claimed)
    assert read.service_date.tolist() == frames.claims.service_date.dt.strftime("%Y-%m-%d").tolist()
    assert set(read.ald) <= {"true", "false", ""}
    assert (read.ald == "").tolist() == frames.claims.ald.isna().tolist()
    providers = pd.read_csv(paths["providers"], dtype=str)
    labels = pd.read_csv(paths["labels"], dtype=str, keep_default_na=False)
    assert tuple(providers.columns) == PROVIDER_COLUMNS
    assert tuple(labels.columns) == LABEL_COLUMNS
    assert labels.equals(frames.labels.astype(str))


def test_claims_follow_the_contract(data):
    claims = data.claims
    assert tuple(claims.columns) == CLAIM_COLUMNS
    assert {c: str(t) for c, t in claims.dtypes.items()} == CLAIM_DTYPES
    for col, allowed in ENUMS.items():
        assert set(claims[col].dropna().unique()) <= set(allowed), col
    required = ["claim_id", "line_no", "beneficiary_id", "regime", "provider_id", "provider_type", "act_code",
                "act_family", "quantity", "service_date", "submission_date", "amount_claimed"]
    assert not claims[required].isna().any().any()
    assert not claims.duplicated(["claim_id", "line_no"]).any()
    assert (claims.groupby("claim_id").line_no.min() == 1).all()
    assert (claims.submission_date >= claims.service_date).all()
    assert (claims.amount_claimed >= 0).all() and (claims.amount_reimbursed >= 0).all()
    assert (claims.amount_reimbursed <= claims.amount_claimed + 0.005).all()
    assert (claims.quantity >= 1).all()
    assert claims.service_date.min() >= pd.Timestamp("2025-01-06")
    assert claims.service_date.max() <= pd.Timestamp("2025-01-06") + pd.Timedelta(days=8 * 7 - 1)
    stays = claims[claims.act_family == "HOSPITAL_STAY"]
    assert (stays.stay_days >= 1).all()
    assert claims.loc[claims.act_family != "HOSPITAL_STAY", "stay_days"].isna().all()
    direct = claims[claims.channel == "PROVIDER_DIRECT"]
    assert direct.submission_point_id.isna().all()
    providers = data.providers
    assert set(claims.provider_id) <= set(providers.provider_id)
    assert set(claims.doctor_id.dropna()) <= set(providers.provider_id)


def test_volume_follows_scale_and_fraud_is_a_small_part(data):
    claims = data.claims
    # scale 0.05 is about 10,000 lines whatever the number of weeks.
    assert 7_500 < len(claims) < 12_500
    fraud = data.labels.loc[data.labels.entity_type == "CLAIM", "entity_id"]
    assert 0 < claims.claim_id.isin(fraud).mean() < 0.12


def test_background_looks_like_morocco(data):
    claims = data.claims
    people = claims.drop_duplicates("beneficiary_id")
    assert people.beneficiary_region.value_counts().index[0] == "06"
    assert people.regime.value_counts().index[0] == "TADAMON"
    # ~6% of the insured have an ALD; they consume more, so more of the claimants do.
    assert 0.05 < people.ald.mean() < 0.25
    refills = claims[claims.ald & (claims.act_family == "MEDICATION")].groupby("beneficiary_id").claim_id.nunique()
    assert refills.median() >= 2
    assert (claims.provider_region == claims.beneficiary_region).mean() > 0.8
    counts = data.providers.provider_type.value_counts()
    assert counts["DOCTOR"] > counts["LAB"] and counts["PHARMACY"] > counts["CLINIC"]
    by_day = claims.drop_duplicates("claim_id").service_date.dt.day_of_week.value_counts(normalize=True)
    assert by_day.get(6, 0) < 0.06
    surgery = claims[claims.act_family == "SURGERY"]
    assert surgery.prior_auth_id.notna().mean() > 0.5
    assert claims.loc[claims.provider_type == "CLINIC", "doctor_id"].notna().all()
    dependants = claims[claims.beneficiary_id != claims.household_id]
    assert len(dependants) > 0.2 * len(claims)


def test_legitimate_sharing_exists(data):
    claims = data.claims
    per_point = claims.groupby("submission_point_id").household_id.nunique()
    assert per_point.max() >= 100
    phones = claims.dropna(subset=["contact_phone"]).groupby("contact_phone")
    family = phones.beneficiary_id.nunique()
    households = phones.household_id.nunique()
    # Many phones serve several members of one family.
    assert ((family >= 2) & (households == 1)).sum() >= 100
    direct = claims[claims.channel == "PROVIDER_DIRECT"]
    assert (direct.groupby("payee_account").household_id.nunique().max()) >= 10


def test_every_scenario_is_planted_and_labelled(data):
    labels = data.labels
    assert set(labels.scenario) == set(SCENARIOS)
    assert set(labels.entity_type) <= {"BENEFICIARY", "PROVIDER", "DOCTOR", "INTERMEDIARY", "CLAIM"}
    for scenario, group in labels.groupby("scenario"):
        assert (group.entity_type == "CLAIM").any(), scenario
        assert group.entity_type.isin(["PROVIDER", "DOCTOR"]).any(), scenario
        assert (group.ring_id == "").all() == (scenario == "upcoder"), scenario
    funnel = labels[labels.scenario == "recruiter_funnel"]
    assert {"recruiter", "recruited_patient", "clinic", "surgeon", "lab", "imaging"} <= set(funnel.role)
    assert funnel.loc[funnel.entity_type == "INTERMEDIARY", "entity_id"].str.match(r"INT-\d{4}$").all()
    assert set(labels.loc[labels.entity_type == "CLAIM", "entity_id"]) <= set(data.claims.claim_id)
    members = labels[labels.entity_type.isin(["PROVIDER", "DOCTOR"]) & (labels.ring_id != "")]
    sizes = members.groupby("ring_id").size()
    assert sizes.between(2, 8).all()


def test_recruited_households_share_the_recruiters_phones_and_accounts(data):
    funnel = _fraud_claims(data, "recruiter_funnel")
    for ring_id, group in funnel.groupby("ring_id"):
        assert group.groupby("contact_phone").household_id.nunique().max() >= 3, ring_id
        assert group.groupby("payee_account").household_id.nunique().max() >= 3, ring_id
        # Patients come from far: none lives in the clinic's region.
        clinic_region = group.loc[group.provider_type == "CLINIC", "provider_region"].iloc[0]
        assert (group.beneficiary_region != clinic_region).all()


def test_phantom_patients_are_seen_nowhere_else(data):
    labels = data.labels
    fabricated = {r["ring_id"] for r in data.world["rings"] if "fabricated_consult" in r["variants"]}
    phantom = labels[labels.scenario == "phantom_patients"]
    for ring_id, ring in phantom.groupby("ring_id"):
        lines = data.claims[data.claims.beneficiary_id.isin(ring.loc[ring.role == "phantom_patient", "entity_id"])]
        members = ring.loc[ring.entity_type.isin(["PROVIDER", "DOCTOR"]), "entity_id"]
        assert len(lines) > 0
        assert lines.provider_id.isin(members).all()
        # Only the fabricated-consultation variant bills a consultation, by the ring's own surgeon.
        assert (lines.act_family == "CONSULTATION").any() == (ring_id in fabricated), ring_id


def test_camouflage_gives_recruiters_more_phones():
    def phones_per_recruiter(d) -> float:
        # Rotating recruiters use several phones whatever the camouflage: compare the others.
        rotating = {r for ring in d.world["rings"] for r in ring["rotating"]}
        ids = d.recruiter_identifiers
        ids = ids[(ids.identifier_type == "PHONE") & ~ids.recruiter_id.isin(rotating)]
        return ids.groupby("recruiter_id").size().mean()

    worlds = [generate_frames(scale=0.1, weeks=6, seed=7, camouflage=c) for c in (0.0, 1.0)]
    assert phones_per_recruiter(worlds[1]) > 2 * phones_per_recruiter(worlds[0])


def test_camouflage_spreads_cohorts_over_more_days(data, camouflaged):
    def days_per_visit_week(d) -> float:
        funnel = _fraud_claims(d, "recruiter_funnel")
        funnel = funnel[funnel.act_family == "CONSULTATION"]
        weeks = funnel.service_date.dt.isocalendar().week
        return funnel.groupby(["ring_id", weeks]).service_date.nunique().mean()

    assert days_per_visit_week(camouflaged) > days_per_visit_week(data)


@pytest.mark.parametrize("kwargs", [{"scale": 0}, {"weeks": 0}, {"camouflage": 1.5}, {"start": "06/01/2025"}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(InputRefused):
        generate_frames(**{"scale": 0.02, "weeks": 1, **kwargs})


def test_rings_never_plant_a_surgeon_role_without_a_surgeon():
    # Every clinic shares one surgeon: once an early ring takes that surgeon, no later ring
    # may pick a clinic for its surgeons (a national year at seed 0 drew such a clinic and
    # crashed generating its first phantom week).
    from ingest.synthetic.population import build_population
    from ingest.synthetic.providers import build_providers
    from ingest.synthetic.rings import plant_rings
    from ingest.synthetic.world import draw_params

    rng = np.random.default_rng(3)
    params = draw_params(rng, 0.0)
    pop = build_population(rng, 3000, 2025, tadamon_share=params.tadamon_share,
                           tadamon_cash_share=params.tadamon_cash_share, phone_share=params.phone_share)
    prov = build_providers(rng, 1.0)
    surgeon = int(np.flatnonzero(prov.role == "surgeon")[0])
    clinics = prov.of("CLINIC")
    attached = np.zeros(prov.n, dtype=np.int64)
    attached[clinics] = 1
    prov.fac_ptr = np.concatenate([[0], np.cumsum(attached)])
    prov.fac_doctors = np.full(len(clinics), surgeon, dtype=np.int64)
    rings = plant_rings(rng, pop, prov, 1.0, params, 1.0)
    with_surgeons = [ring for ring in rings if "surgeon" in ring.members]
    assert with_surgeons, "the world planted no ring with surgeons"
    assert all(len(ring.members["surgeon"]) for ring in with_surgeons)


def test_generate_leaves_no_partial_files_when_it_fails_midway(tmp_path, monkeypatch):
    from ingest.synthetic import generator

    real_weeks = generator._World.weeks

    def failing_weeks(self):
        for n, item in enumerate(real_weeks(self)):
            if n == 1:
                raise RuntimeError("disk full")
            yield item

    monkeypatch.setattr(generator._World, "weeks", failing_weeks)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(tmp_path / "out", scale=0.05, weeks=3, seed=1)
    assert list((tmp_path / "out").iterdir()) == []
    monkeypatch.setattr(generator._World, "weeks", real_weeks)
    paths = generate(tmp_path / "out", scale=0.05, weeks=3, seed=1)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths.values())
