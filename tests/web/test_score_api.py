"""``POST /api/score``: authentication (token or session with CSRF), validation, audit, no personal data."""

from __future__ import annotations

import json
import logging
import re
import shutil

import pytest

from casework.audit import AuditLog
from casework.cases import CaseStore
from casework.runs import RunStore
from casework.tokens import TokenStore
from casework.users import UserStore
from detectors.config import DetectionConfig
from detectors.pipeline import detect
from ground import __version__
from ground.settings import load_settings
from ingest.store import ClaimsStore
from shabaka.apriori import prepare_apriori, store_apriori
from tests.conftest import RING_PHONE, make_tiny_claims
from web import create_app

PASSWORD = "correct-horse-battery"
RING_LINE = {"line_no": 1, "beneficiary_id": "BEN-NEW-1", "household_id": "BEN-NEW-1", "regime": "TADAMON",
             "beneficiary_region": "08", "provider_id": "PRV-CLINIC-R", "provider_type": "CLINIC",
             "provider_region": "06", "doctor_id": "DOC-R", "act_code": "K50", "act_family": "SURGERY",
             "quantity": 1, "service_date": "2025-04-02", "submission_date": "2025-04-03",
             "amount_claimed": 6000.0, "contact_phone": RING_PHONE, "channel": "PROXIMITY_POINT"}
PLAIN_LINE = {"line_no": 1, "beneficiary_id": "BEN-NEW-2", "regime": "SALARIES", "provider_id": "PRV-DOC-B",
              "provider_type": "DOCTOR", "doctor_id": "DOC-1", "act_code": "C", "act_family": "CONSULTATION",
              "quantity": 1, "service_date": "2025-04-02", "submission_date": "2025-04-03", "amount_claimed": 150}

# A ring of eight patients is below the calibrated alert threshold: report every candidate ring.
EVERY_RING = DetectionConfig.from_mapping({"rings": {"alert_surprise": -1e9}})


@pytest.fixture(scope="module")
def _template(tmp_path_factory):
    """A home with the tiny claims detected through the real pipeline, an investigator and a token."""
    root = tmp_path_factory.mktemp("score-api")
    settings = load_settings(None, {"SHABAKA_HOME": str(root / "home")})
    claims = make_tiny_claims()
    path = root / "claims.parquet"
    claims.to_parquet(path, index=False)
    with ClaimsStore(settings.home_path) as store:
        store.ingest([path])
        stored = store.claims()
    result = detect(stored, seed=42, config=EVERY_RING)
    apriori = prepare_apriori(settings, "run-api-1", "detect", result, stored)
    store_apriori(settings.home_path, "run-api-1", apriori)
    with RunStore(settings.home_path) as runs:
        runs.save_run("run-api-1", kind="detect", version=__version__, params=result.params, batches=[],
                      rings=result.rings, members=result.members, entity_scores=result.entity_scores)
    with UserStore(settings.home_path) as users:
        users.add("ines", "investigator", PASSWORD)
    with TokenStore(settings.home_path) as tokens:
        token = tokens.add("intake", created_by="test")
    return root, token, str(apriori.listed["ring_id"].iloc[0])


@pytest.fixture
def home(_template, tmp_path):
    root, token, ring = _template
    shutil.copytree(root / "home", tmp_path / "home")
    settings = load_settings(None, {"SHABAKA_HOME": str(tmp_path / "home")})
    return settings, token, ring


@pytest.fixture
def client(home):
    settings, _, _ = home
    return create_app({"SHABAKA_SETTINGS": settings, "TESTING": True}).test_client()


def _post(client, body, token=None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/api/score", data=json.dumps(body), content_type="application/json", headers=headers)


def test_token_scores_a_ring_dossier_high_with_its_reasons(client, home):
    _, token, _ = home
    response = _post(client, {"claim_id": "NEW-RING", "lines": [RING_LINE]}, token)
    assert response.status_code == 200, response.json
    data = response.json
    assert data["run_id"] == "run-api-1" and data["claim_id"] == "NEW-RING" and data["level"] == "high"
    assert any("PRV-CLINIC-R" in r for r in data["reasons"]) and any("inferred recruiter" in r for r in data["reasons"])
    assert data["refused"] == []
    plain = _post(client, {"claim_id": "NEW-PLAIN", "lines": [PLAIN_LINE]}, token).json
    assert plain["level"] == "none" and plain["reasons"] == []


def test_requests_without_a_live_token_or_session_are_refused(client, home):
    settings, token, _ = home
    body = {"claim_id": "X", "lines": [PLAIN_LINE]}
    assert _post(client, body).status_code == 401
    assert _post(client, body, "shk_not-a-token").status_code == 401
    with TokenStore(settings.home_path) as tokens:
        tokens.revoke("intake")
    assert _post(client, body, token).status_code == 401


def test_a_token_opens_the_score_endpoint_only(client, home):
    _, token, _ = home
    response = client.get("/api/rings", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 302


def test_a_session_must_send_its_csrf_token(client):
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.post("/login", data={"name": "ines", "password": PASSWORD, "csrf_token": csrf}).status_code == 302
    page = client.get("/", follow_redirects=True)  # signing in starts a new session, with its own token
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    body = {"claim_id": "NEW-RING", "lines": [RING_LINE]}
    assert _post(client, body).status_code == 400
    response = _post(client, body, **{"X-CSRFToken": csrf})
    assert response.status_code == 200 and response.json["level"] == "high"


@pytest.mark.parametrize("body,detail", [
    ("not json", "expected a JSON object"),
    ({"lines": [PLAIN_LINE]}, "claim_id"),
    ({"claim_id": "X", "lines": []}, "lines"),
    ({"claim_id": "X", "lines": ["text"]}, "lines[1]"),
    ({"claim_id": "X", "lines": [{**PLAIN_LINE, "claim_id": "Y"}]}, "differs"),
    ({"claim_id": "X", "lines": [{**PLAIN_LINE, "quantity": {"n": 1}}]}, "lines[1].quantity"),
])
def test_malformed_dossiers_are_refused_with_what_was_expected(client, home, body, detail):
    _, token, _ = home
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post("/api/score", data=data, content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert detail in response.json["detail"]


def test_lines_breaking_the_contract_are_listed_and_the_rest_scored(client, home):
    _, token, _ = home
    bad = {**PLAIN_LINE, "line_no": 2, "service_date": "2025-02-30"}
    data = _post(client, {"claim_id": "NEW-MIX", "lines": [RING_LINE, bad]}, token).json
    assert data["lines"] == 1 and data["level"] == "high"
    assert [(r["line"], r["reason"]) for r in data["refused"]] == [(2, "BAD_DATE")]
    all_bad = _post(client, {"claim_id": "NEW-BAD", "lines": [bad]}, token)
    assert all_bad.status_code == 400 and all_bad.json["refused"][0]["reason"] == "BAD_DATE"


def test_dismissing_the_case_drops_the_watchlist_reason_at_once(client, home):
    settings, token, ring = home
    before = _post(client, {"claim_id": "NEW-RING", "lines": [RING_LINE]}, token).json
    assert any("watched provider" in r for r in before["reasons"])
    with CaseStore(settings.home_path) as cases:
        cases.open_case(ring, actor="ines")
        cases.update(ring, status="dismissed")
    after = _post(client, {"claim_id": "NEW-RING", "lines": [RING_LINE]}, token).json
    assert not any("watched provider" in r for r in after["reasons"])
    assert after["score"] < before["score"]


def test_each_call_is_audited_without_personal_data(client, home, caplog):
    settings, token, _ = home
    caplog.set_level(logging.DEBUG)
    _post(client, {"claim_id": "NEW-RING", "lines": [RING_LINE]}, token)
    with AuditLog(settings.home_path) as log:
        entry = log.entries(limit=1)[0]
        assert log.verify().ok
    assert entry["actor"] == "token:intake" and entry["action"] == "api_score"
    assert entry["params"]["level"] == "high" and entry["params"]["run_id"] == "run-api-1"
    assert entry["params"]["lines"] == 1 and entry["params"]["refused"] == 0
    written = json.dumps(entry) + caplog.text
    for personal in ("NEW-RING", "BEN-NEW-1", RING_PHONE, token):
        assert personal not in written
