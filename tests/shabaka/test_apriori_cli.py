"""``shabaka watchlist`` and ``shabaka score`` through the installed command, on a real home."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from casework.cases import CaseStore
from detectors.watchlist import WATCHLIST_COLUMNS
from tests.conftest import RING_PHONE, make_tiny_claims
from tests.export.conftest import write_claims_csv

SHABAKA = str(Path(sys.executable).with_name("shabaka"))
SCORE_COLUMNS = ["claim_id", "level", "score", "reasons", "lines", "rejected_lines"]


def _run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # a ring of eight patients is below the calibrated alert threshold: report every candidate ring
    config = home.parent / "detection.toml"
    config.write_text("[rings]\nalert_surprise = -1e9\n", encoding="utf-8")
    env = {**os.environ, "SHABAKA_HOME": str(home), "SHABAKA_LOG_LEVEL": "INFO",
           "SHABAKA_DETECTION_CONFIG": str(config)}
    done = subprocess.run([SHABAKA, *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def _template(tmp_path_factory) -> Path:
    """A home with the tiny claims ingested and one ``shabaka detect`` run."""
    work = tmp_path_factory.mktemp("apriori")
    home = work / "home"
    _run(home, "ingest", str(write_claims_csv(make_tiny_claims(), work / "claims.csv")))
    _run(home, "detect", "--out", str(work / "findings"))
    return work


@pytest.fixture
def home(_template, tmp_path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(_template / "home", target)
    return target


def _watchlist(home: Path) -> dict:
    return json.loads(_run(home, "watchlist", "--json").stdout)


def _dossiers(tmp_path: Path, rows: list[dict], name: str = "dossiers.csv") -> Path:
    frame = make_tiny_claims().iloc[0:0].copy()
    base = make_tiny_claims()
    template = base[base["claim_id"] == base["claim_id"].iloc[0]].iloc[0].to_dict()
    out = pd.DataFrame([{**template, **row} for row in rows], columns=frame.columns)
    for col in ("service_date", "submission_date"):
        out[col] = [v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v for v in out[col]]
    out["ald"] = "false"
    path = tmp_path / name
    out.to_csv(path, index=False)
    return path


RING_DOSSIER = dict(claim_id="NEW-RING", line_no=1, beneficiary_id="BEN-NEW-1", household_id="BEN-NEW-1",
                    regime="TADAMON", beneficiary_region="08", provider_id="PRV-CLINIC-R", provider_type="CLINIC",
                    provider_region="06", doctor_id="DOC-R", act_code="K50", act_family="SURGERY",
                    amount_claimed=6000.0, prior_auth_id=None, contact_phone=RING_PHONE, payee_account="RIB-NEW",
                    service_date="2025-04-02", submission_date="2025-04-03")
PLAIN_DOSSIER = dict(claim_id="NEW-PLAIN", line_no=1, beneficiary_id="BEN-NEW-2", household_id="BEN-NEW-2",
                     regime="SALARIES", provider_id="PRV-DOC-B", provider_type="DOCTOR", doctor_id="DOC-1",
                     act_code="C", act_family="CONSULTATION", amount_claimed=150.0, contact_phone="PHONE-NEW-2",
                     service_date="2025-04-02", submission_date="2025-04-03")


def test_detect_writes_watchlist_csv_beside_the_findings(_template):
    listed = pd.read_csv(_template / "findings" / "watchlist.csv", dtype=str, keep_default_na=False)
    assert list(listed.columns) == WATCHLIST_COLUMNS
    assert ("PRV-CLINIC-R", "SURGERY") in set(zip(listed["provider_id"], listed["act_family"]))


def test_watchlist_prints_the_latest_runs_entries(home):
    data = _watchlist(home)
    pairs = {(e["provider_id"], e["act_family"]) for e in data["entries"]}
    assert ("PRV-CLINIC-R", "SURGERY") in pairs
    assert {p for p, _ in pairs} <= {"PRV-CLINIC-R", "PRV-LAB-R"}, "only the planted ring's providers"
    assert all(e["since_run"] == data["run_id"] for e in data["entries"])
    text = _run(home, "watchlist").stdout
    assert "PRV-CLINIC-R" in text and "SURGERY" in text


def test_dismissed_case_leaves_the_watchlist_at_once(home):
    ring = _watchlist(home)["entries"][0]["ring_id"]
    with CaseStore(home) as cases:
        cases.open_case(ring, actor="alice")
        cases.update(ring, status="dismissed")
    assert ring not in {e["ring_id"] for e in _watchlist(home)["entries"]}


def test_entry_keeps_its_since_across_runs_and_leaves_when_the_evidence_is_gone(home, tmp_path):
    first = _watchlist(home)
    _run(home, "detect", "--out", str(tmp_path / "again"))
    second = _watchlist(home)
    assert second["run_id"] != first["run_id"]
    assert {e["since_run"] for e in second["entries"]} == {first["run_id"]}
    # the ring's dossiers are all on 2025-03-12: a window ending before holds no evidence
    _run(home, "detect", "--out", str(tmp_path / "before"), "--to", "2025-03-11")
    assert _watchlist(home)["entries"] == []


def test_watchlist_without_any_run_exits_2(tmp_path):
    done = _run(tmp_path / "empty", "watchlist", check=False)
    assert done.returncode == 2 and "no detection run" in done.stderr


def test_score_rates_a_ring_dossier_high_a_plain_one_none_and_reports_refused_lines(home, tmp_path):
    path = _dossiers(tmp_path, [RING_DOSSIER, PLAIN_DOSSIER,
                                {**PLAIN_DOSSIER, "claim_id": "NEW-BAD", "service_date": "2025-02-30"},
                                {**PLAIN_DOSSIER, "claim_id": "", "line_no": 2}])
    out, rejected = tmp_path / "scores.csv", tmp_path / "rejected.csv"
    done = _run(home, "score", str(path), "--out", str(out), "--rejected", str(rejected))
    assert "read 4 = scored 2 + refused 2 lines" in done.stdout
    scores = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(scores.columns) == SCORE_COLUMNS
    by_claim = scores.set_index("claim_id")
    assert by_claim.loc["NEW-RING", "level"] == "high"
    reasons = by_claim.loc["NEW-RING", "reasons"]
    assert "PRV-CLINIC-R" in reasons and "inferred recruiter" in reasons and "DOC-R" in reasons
    assert RING_PHONE not in reasons, "identifiers are looked up, never written"
    assert by_claim.loc["NEW-PLAIN", "level"] == "none"
    assert by_claim.loc["NEW-BAD", "level"] == "none" and by_claim.loc["NEW-BAD", "rejected_lines"] == "1"
    refused = pd.read_csv(rejected, dtype=str, keep_default_na=False)
    assert list(refused.columns) == ["line", "claim_id", "rule", "reason", "message"]
    assert set(refused["reason"]) == {"BAD_DATE", "MISSING_REQUIRED"}
    assert set(refused["line"]) == {"4", "5"}
    assert "BEN-NEW-2" not in rejected.read_text() and "BEN-NEW" not in done.stderr + done.stdout
    assert RING_PHONE not in done.stderr


def test_score_json_counts_reconcile(home, tmp_path):
    path = _dossiers(tmp_path, [RING_DOSSIER, {**RING_DOSSIER, "line_no": 2, "act_family": "BIOLOGY",
                                                "provider_id": "PRV-LAB-R", "provider_type": "LAB", "act_code": "B120",
                                                "amount_claimed": 480.0}, PLAIN_DOSSIER, PLAIN_DOSSIER])
    data = json.loads(_run(home, "score", str(path), "--out", str(tmp_path / "s.csv"), "--json").stdout)
    assert data["read"] == data["scored"] + data["rejected"] == 4
    assert data["by_rule"] == {"DUPLICATE_KEY": 1}
    assert data["dossiers"] == 2 and sum(data["by_level"].values()) == 2


def test_score_refuses_a_file_without_the_contract_columns_and_writes_nothing(home, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("claim_id,line_no\nX,1\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    done = _run(home, "score", str(path), "--out", str(out), check=False)
    assert done.returncode == 2
    assert "bad.csv" in done.stderr and "missing required column" in done.stderr
    assert not out.exists()


def test_score_without_any_run_exits_2(tmp_path):
    path = _dossiers(tmp_path, [PLAIN_DOSSIER])
    done = _run(tmp_path / "empty", "score", str(path), "--out", str(tmp_path / "s.csv"), check=False)
    assert done.returncode == 2 and "no detection run" in done.stderr


def test_score_is_deterministic_and_independent_of_line_order(home, tmp_path):
    rows = [RING_DOSSIER, {**RING_DOSSIER, "line_no": 2, "provider_id": "PRV-LAB-R", "provider_type": "LAB",
                           "act_family": "BIOLOGY", "act_code": "B120", "amount_claimed": 480.0}, PLAIN_DOSSIER]
    first, again, shuffled = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    _run(home, "score", str(_dossiers(tmp_path, rows)), "--out", str(first))
    _run(home, "score", str(_dossiers(tmp_path, rows)), "--out", str(again))
    _run(home, "score", str(_dossiers(tmp_path, rows[::-1], "reversed.csv")), "--out", str(shuffled))
    assert first.read_bytes() == again.read_bytes()
    a = pd.read_csv(first).set_index("claim_id").sort_index()
    c = pd.read_csv(shuffled).set_index("claim_id").sort_index()
    pd.testing.assert_frame_equal(a, c)
