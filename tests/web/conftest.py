"""A viewer over a small fake run: the tiny claims ingested, their graph stored, two rings saved."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from graph.build import build_graph
from graph.store import open_graph_store
from ingest.store import ClaimsStore
from casework.ringpages import build_ring_pages
from web.story import page_story
from casework.runs import RunStore
from ground.settings import load_settings
from web import create_app
from casework.users import UserStore

PASSWORD = "correct-horse-battery"
ROLES = ("analyst", "investigator", "admin")
RING_ID = "RING-TINY-1"
OTHER_RING = "RING-TINY-2"
RUN_ID = "run-2025-W11"


def _members(planted: dict) -> pd.DataFrame:
    rows = [(RING_ID, "PROVIDER", p, "clinic" if "CLINIC" in p else "lab", 0.9, "shares 8 recruited patients")
            for p in sorted(planted["providers"])]
    rows.append((RING_ID, "DOCTOR", planted["doctor"], "surgeon", 0.8, "operates every recruited patient"))
    rows += [(RING_ID, "BENEFICIARY", b, "recruited_patient", 0.5, "brought the same day")
             for b in sorted(planted["beneficiaries"])]
    rows.append((RING_ID, "PHONE", planted["phone"], "recruiter_phone", 0.7, "shared by 8 households"))
    rows.append((OTHER_RING, "PROVIDER", "PRV-CLINIC-A", "clinic", 0.2, "ordinary"))
    rows.append((OTHER_RING, "BENEFICIARY", "BEN-000", "patient", 0.1, "ordinary"))
    return pd.DataFrame(rows, columns=["ring_id", "entity_type", "entity_id", "role", "score", "evidence"])


def fill_home(settings, claims: pd.DataFrame, planted: dict, tmp_path) -> None:
    """Ingest ``claims``, write their graph, save one run with two rings and its ring pages."""
    path = tmp_path / "claims.parquet"
    claims.to_parquet(path, index=False)
    with ClaimsStore(settings.home_path) as store:
        store.ingest([path])
    graph = open_graph_store(settings)
    graph.write(build_graph(claims))
    graph.close()
    members = _members(planted)
    rings = pd.DataFrame([
        {"ring_id": RING_ID, "rank": 1, "score": 9.5, "size": int((members.ring_id == RING_ID).sum()),
         "amount_at_risk": 51840.0, "summary": "8 Tadamon patients from region 08 operated the same day",
         "scenario": "recruiter_funnel", "regions": "06,08", "regimes": "TADAMON"},
        {"ring_id": OTHER_RING, "rank": 2, "score": 1.2, "size": 2, "amount_at_risk": 310.0,
         "summary": "weak", "scenario": "kickback_loop", "regions": "06", "regimes": "SALARIES"},
    ])
    scores = pd.DataFrame([{"entity_type": "PROVIDER", "entity_id": "PRV-CLINIC-R", "score": 9.0,
                            "top_reason": "recruited patients"}])
    with RunStore(settings.home_path) as runs:
        runs.save_run(RUN_ID, kind="weekly", version="test", params={}, batches=[], rings=rings, members=members,
                      entity_scores=scores, week="2025-W11", window=("2025-01-01", "2025-12-31"))
    build_ring_pages(settings.home_path, RUN_ID, story=page_story)
    with UserStore(settings.home_path) as users:
        for role in ROLES:
            users.add(role, role, PASSWORD)


@pytest.fixture(scope="session")
def _filled_template(tmp_path_factory):
    """One filled HOME per test session; each test gets its own copy."""
    from tests.conftest import RING_ACCOUNT, RING_DOCTOR, RING_PHONE, RING_PROVIDERS, make_tiny_claims

    root = tmp_path_factory.mktemp("web-template")
    template = load_settings(None, {"SHABAKA_HOME": str(root / "home")})
    planted = {"providers": set(RING_PROVIDERS), "doctor": RING_DOCTOR, "phone": RING_PHONE,
               "account": RING_ACCOUNT, "beneficiaries": {f"BEN-R{k}" for k in range(8)}}
    fill_home(template, make_tiny_claims(), planted, root)
    return template.home_path


@pytest.fixture
def filled(settings, _filled_template):
    """Settings whose HOME holds the fake run, claims, graph and one account per role (named after it)."""
    shutil.copytree(_filled_template, settings.home_path)
    return settings


@pytest.fixture
def app(filled):
    return create_app({"SHABAKA_SETTINGS": filled, "TESTING": True, "WTF_CSRF_ENABLED": False})


def login(client, role: str):
    response = client.post("/login", data={"name": role, "password": PASSWORD})
    assert response.status_code == 302, response.data
    return client


@pytest.fixture
def as_role(app):
    """``as_role("analyst")`` -> a test client signed in with that role."""
    return lambda role: login(app.test_client(), role)


def second_run(home, *, drop: str, add: tuple[str, str, str], amount: float) -> str:
    """Store a later run of RING_ID without ``drop``, with ``add`` and ``amount`` at risk, and its ring pages."""
    with RunStore(home) as runs:
        ring = runs.ring(RUN_ID, RING_ID)
        members = runs.members(RUN_ID)
        members = members[members["entity_id"] != drop]
        members = pd.concat([members, pd.DataFrame([{"ring_id": RING_ID, "entity_type": add[0], "entity_id": add[1],
                                                     "role": add[2], "score": 1.0, "evidence": "new"}])])
        rings = runs.rings(RUN_ID).drop(columns=["run_id", "extra_json"])
        rings.loc[rings["ring_id"] == RING_ID, "amount_at_risk"] = amount
        rings["size"] = rings["ring_id"].map(members.groupby("ring_id").size())
        alerts = pd.DataFrame([{"ring_id": RING_ID, "change": "grown", "detail": "1 new member", "alerted": 1}])
        runs.save_run("run-2025-W12", kind="weekly", version="test", params={}, batches=[], rings=rings,
                      members=members.drop(columns=["run_id"]), entity_scores=runs.entity_scores(RUN_ID).drop(
                          columns=["run_id"]), alerts=alerts, week="2025-W12",
                      window=("2025-01-01", "2025-12-31"), started_at="2099-01-01T00:00:00+00:00")
        assert ring["amount_at_risk"] != amount
    build_ring_pages(home, "run-2025-W12", story=page_story)  # as a run stores its ring pages
    return "run-2025-W12"
