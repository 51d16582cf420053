"""The generator's world: legitimate look-alikes planted and labelled, parameters drawn per seed,
a fraud-free world."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ingest.synthetic import generate, generate_frames
from ingest.synthetic.lookalikes import KINDS, LOOKALIKE_COLUMNS
from ingest.synthetic.world import PARAMETER_RANGES, draw_params
from shabaka.cli.generate_cmd import generate as generate_cmd


@pytest.fixture(scope="module")
def world():
    return generate_frames(scale=0.1, weeks=6, seed=11)


def _group(world, kind: str) -> pd.DataFrame:
    la = world.lookalikes
    return la[la.kind == kind]


def _ids(frame: pd.DataFrame, etype: str, role: str | None = None) -> set:
    rows = frame[frame.entity_type == etype]
    if role is not None:
        rows = rows[rows.role == role]
    return set(rows.entity_id)


def test_every_lookalike_kind_is_planted_and_labelled(world):
    la = world.lookalikes
    assert tuple(la.columns) == LOOKALIKE_COLUMNS
    assert set(la.kind) == set(KINDS)
    assert la.group_id.str.match(r"LK-\d{4}$").all()
    assert not la.duplicated(["kind", "entity_type", "entity_id", "group_id", "role"]).any()
    claims = world.claims
    known = {"PROVIDER": set(claims.provider_id) | set(claims.doctor_id.dropna()),
             "DOCTOR": set(claims.doctor_id.dropna()), "REFERRER": set(claims.referrer_id.dropna()),
             "PHONE": set(claims.contact_phone.dropna()), "ACCOUNT": set(claims.payee_account.dropna()),
             "CLAIM": set(claims.claim_id), "BENEFICIARY": set(claims.beneficiary_id)}
    active = {"dialysis", "oncology_injectables", "gp_pharmacy_next_door", "ngo_caravan", "social_worker",
              "referral_clinic", "growing_clinic", "tiers_payant_account", "mixed_dossier", "emergency_surgery"}
    for kind in active:
        rows = _group(world, kind)
        for etype, ids in rows.groupby("entity_type").entity_id:
            if etype in known and etype != "BENEFICIARY":
                assert set(ids) & known[etype], (kind, etype)


def test_lookalikes_never_include_a_ring_member(world):
    members = world.labels[world.labels.entity_type.isin(["PROVIDER", "DOCTOR"])]
    structural = world.lookalikes[~world.lookalikes.kind.isin(["specialty_spelling", "missing_fields",
                                                               "phone_format"])]
    assert not set(members.entity_id) & set(structural.loc[structural.entity_type.isin(["PROVIDER", "DOCTOR"]),
                                                           "entity_id"])


def test_dialysis_patients_come_three_times_a_week(world):
    group = _group(world, "dialysis")
    centre = _ids(group, "PROVIDER", "centre")
    lines = world.claims[world.claims.provider_id.isin(centre) & (world.claims.act_code == "HD")]
    per_week = lines.groupby(["beneficiary_id", lines.service_date.dt.isocalendar().week]).size()
    assert len(per_week) > 0 and (per_week == 3).mean() > 0.9
    assert lines.ald.dropna().all()


def test_oncology_patients_collect_costly_injectables_next_to_their_specialist(world):
    group = _group(world, "oncology_injectables")
    pharmacies = _ids(group, "PROVIDER", "pharmacy")
    lines = world.claims[world.claims.provider_id.isin(pharmacies) & world.claims.doctor_id.isin(
        _ids(group, "DOCTOR"))]
    costly = lines[lines.amount_claimed >= 3000]
    assert len(costly) > 0 and costly.amount_claimed.max() <= 18000 * 1.01
    providers = world.providers.set_index("provider_id")
    doctor = next(iter(_ids(group, "DOCTOR")))
    assert set(providers.loc[list(pharmacies), "city"]) == {providers.loc[doctor, "city"]}


def test_a_gp_shares_most_patients_with_the_pharmacy_next_door(world):
    claims = world.claims
    for _, group in _group(world, "gp_pharmacy_next_door").groupby("group_id"):
        gp = _ids(group, "DOCTOR").pop()
        pharmacy = _ids(group, "PROVIDER").pop()
        gp_patients = set(claims.loc[claims.provider_id == gp, "household_id"])
        at_pharmacy = set(claims.loc[claims.provider_id == pharmacy, "household_id"])
        assert len(gp_patients) >= 10
        assert len(gp_patients & at_pharmacy) >= 0.4 * len(gp_patients)


def test_a_caravan_declares_its_coordinator_on_a_cohort_of_villagers(world):
    for _, group in _group(world, "ngo_caravan").groupby("group_id"):
        coordinator = _ids(group, "REFERRER").pop()
        dossiers = world.claims[world.claims.referrer_id == coordinator].drop_duplicates("claim_id")
        assert dossiers.household_id.nunique() >= 5
        assert dossiers.submission_point_id.dropna().nunique() == 1


def test_shared_identifiers_span_many_households(world):
    claims = world.claims
    village = _ids(_group(world, "village_phone"), "PHONE")
    per_phone = claims[claims.contact_phone.isin(village)].groupby("contact_phone").household_id.nunique()
    assert per_phone.max() >= 4
    account = _ids(_group(world, "tiers_payant_account"), "ACCOUNT")
    per_account = claims[claims.payee_account.isin(account)].groupby("payee_account").household_id.nunique()
    assert per_account.max() >= 50
    social = _ids(_group(world, "social_worker"), "REFERRER")
    assert claims[claims.referrer_id.isin(social)].household_id.nunique() >= 8


def test_a_growing_clinic_bills_nothing_before_it_opens(world):
    clinics = _ids(_group(world, "growing_clinic"), "PROVIDER")
    lines = world.claims[world.claims.provider_id.isin(clinics)]
    assert len(lines) > 0
    assert lines.service_date.min() > world.claims.service_date.min() + pd.Timedelta(days=6)


def test_emergency_surgery_has_no_prior_consultation(world):
    ids = _ids(_group(world, "emergency_surgery"), "CLAIM")
    lines = world.claims[world.claims.claim_id.isin(ids)]
    assert (lines.act_family == "SURGERY").any()
    assert lines.prior_auth_id.isna().all()


def test_noise_is_labelled_and_written(world):
    claims = world.claims
    spelled = _ids(_group(world, "specialty_spelling"), "DOCTOR")
    written = claims.loc[claims.doctor_id.isin(spelled), "doctor_specialty"].dropna()
    assert len(written) > 0 and not written.str.fullmatch(r"[A-Z_]+").all()
    missing = _group(world, "missing_fields")
    no_ald = _ids(missing, "PROVIDER", "missing_ald")
    assert claims.loc[claims.provider_id.isin(no_ald), "ald"].isna().all()
    assert claims.loc[~claims.provider_id.isin(no_ald), "ald"].notna().all()
    phones = claims.contact_phone.dropna()
    assert phones.str.startswith("+212").any() and phones.str.contains(" ").any()
    assert phones.str.fullmatch(r"0[67]\d{8}").mean() > 0.5


def test_parameters_are_drawn_per_seed_within_their_ranges():
    draws = [draw_params(np.random.default_rng(s), 0.0).values for s in range(5)]
    for name, (low, high, _kind, _help) in PARAMETER_RANGES.items():
        assert all(low <= d[name] <= high for d in draws), name
    assert len({tuple(sorted(d.items())) for d in draws}) == 5
    floats = [n for n, r in PARAMETER_RANGES.items() if r[2] == "float"]
    assert all(len({d[n] for d in draws}) > 1 for n in floats)


def test_the_world_file_records_the_draw_and_differs_between_seeds(tmp_path):
    a = json.loads(generate(tmp_path / "a", scale=0.02, weeks=2, seed=1)["world"].read_text())
    b = json.loads(generate(tmp_path / "b", scale=0.02, weeks=2, seed=2)["world"].read_text())
    assert set(a["values"]) == set(PARAMETER_RANGES)
    assert a["values"] != b["values"]
    assert a["seed"] == 1 and a["fraud"] is True


def test_a_world_without_fraud_has_no_labels_but_keeps_its_lookalikes():
    clean = generate_frames(scale=0.05, weeks=4, seed=3, fraud=False)
    assert clean.labels.empty
    assert clean.recruiters.empty
    assert set(clean.lookalikes.kind) == set(KINDS)
    assert len(clean.claims) > 5000


def test_generate_command_no_fraud_writes_header_only_labels(tmp_path):
    result = CliRunner().invoke(generate_cmd, ["--out", str(tmp_path), "--scale", "0.02", "--weeks", "2",
                                               "--no-fraud", "--quiet"])
    assert result.exit_code == 0, result.output
    labels = pd.read_csv(tmp_path / "labels.csv", dtype=str)
    assert labels.empty and list(labels.columns) == ["entity_type", "entity_id", "ring_id", "role", "scenario"]
    assert (tmp_path / "lookalikes.csv").stat().st_size > 0


def test_every_parameter_and_kind_is_documented():
    text = (Path(__file__).resolve().parents[2] / "docs" / "generator.md").read_text()
    assert all(f"`{name}`" in text for name in PARAMETER_RANGES)
    assert all(f"`{kind}`" in text for kind in KINDS)


@pytest.fixture(scope="module")
def fraud_worlds():
    return [generate_frames(scale=0.2, weeks=6, seed=s) for s in (1, 2, 3)]


def _rings(data, variant: str) -> list[dict]:
    return [r for r in data.world["rings"] if variant in r["variants"]]


def test_every_fraud_variant_is_drawn_somewhere_and_recorded(fraud_worlds):
    drawn = {v for d in fraud_worlds for r in d.world["rings"] for v in r["variants"]}
    assert drawn == {"diluted", "two_regions", "fabricated_consult", "coefficient"}
    assert any(r["rotating"] for d in fraud_worlds for r in d.world["rings"])
    cams = {r["camouflage"] for d in fraud_worlds for r in d.world["rings"]}
    assert len(cams) > 5 and all(0 <= c <= 0.25 for c in cams)


def test_diluted_rings_bill_mostly_ordinary_care(fraud_worlds):
    shares = []
    for d in fraud_worlds:
        fraud = set(d.labels.loc[d.labels.entity_type == "CLAIM", "entity_id"])
        for ring in _rings(d, "diluted"):
            members = d.labels.loc[(d.labels.ring_id == ring["ring_id"]) & d.labels.entity_type.isin(
                ["PROVIDER", "DOCTOR"]), "entity_id"]
            lines = d.claims[d.claims.provider_id.isin(members)]
            shares.append(1 - lines.claim_id.isin(fraud).mean())
    assert len(shares) >= 3
    assert 0.65 <= sorted(shares)[len(shares) // 2] <= 0.95


def test_two_region_rings_have_members_in_two_regions(fraud_worlds):
    seen = 0
    for d in fraud_worlds:
        region = d.providers.set_index("provider_id").region
        for ring in _rings(d, "two_regions"):
            labels = d.labels
            members = labels.loc[(labels.ring_id == ring["ring_id"]) & labels.entity_type.isin(
                ["PROVIDER", "DOCTOR"]), "entity_id"]
            if ring["scenario"] == "recruiter_funnel":
                recruited = labels.loc[(labels.ring_id == ring["ring_id"]) & (labels.role == "recruited_patient"),
                                       "entity_id"]
                homes = d.claims.loc[d.claims.beneficiary_id.isin(recruited), "beneficiary_region"].dropna()
                assert homes.nunique() >= 2 or len(ring["recruiters"]) == 1
            else:
                assert region[members].nunique() == 2, ring
            seen += 1
    assert seen >= 2


def test_rotating_recruiters_file_at_their_households_points(fraud_worlds):
    for d in fraud_worlds:
        for ring in d.world["rings"]:
            for rec in ring["rotating"]:
                ids = d.recruiter_identifiers[d.recruiter_identifiers.recruiter_id == rec]
                assert (ids.identifier_type == "REFERRER").sum() == 0
                assert (ids.identifier_type == "PHONE").sum() >= 2
                patients = d.recruiters.loc[d.recruiters.recruiter_id == rec, "beneficiary_id"]
                fraud = set(d.labels.loc[d.labels.entity_type == "CLAIM", "entity_id"])
                own = d.claims[d.claims.beneficiary_id.isin(patients) & d.claims.claim_id.isin(fraud)
                               & (d.claims.channel == "PROXIMITY_POINT")]
                point = set(ids.loc[ids.identifier_type == "SUBMISSION_POINT", "identifier"])
                assert own.drop_duplicates("claim_id").submission_point_id.isin(point).mean() < 0.5


def test_upcoders_inflate_coefficients_above_their_ordinary_surgery(fraud_worlds):
    for d in fraud_worlds:
        labels = d.labels
        fraud = set(labels.loc[(labels.entity_type == "CLAIM") & (labels.scenario == "upcoder"), "entity_id"])
        for clinic in labels.loc[(labels.scenario == "upcoder") & (labels.entity_type == "PROVIDER"), "entity_id"]:
            surgery = d.claims[(d.claims.provider_id == clinic) & d.claims.act_code.str.match(r"K\d+$")]
            coef = surgery.act_code.str[1:].astype(int)
            up = surgery.claim_id.isin(fraud)
            if up.sum() >= 3 and (~up).sum() >= 3:
                assert coef[up].median() > coef[~up].median()


def test_a_world_with_every_lookalike_and_noise_loads_without_quarantine(tmp_path):
    import subprocess
    import sys

    shabaka = Path(sys.executable).with_name("shabaka")
    paths = generate(tmp_path / "gen", scale=0.05, weeks=4, seed=9, camouflage=0.5)
    done = subprocess.run([str(shabaka), "--home", str(tmp_path / "home"), "ingest", str(paths["claims"]),
                           "--providers", str(paths["providers"]), "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["read"] > 5000 and report["quarantined"] == 0 and report["loaded"] == report["read"]
