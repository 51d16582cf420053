"""Outcomes of inspections: import through the installed command, quarantine, idempotence, cases, audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from casework.outcomes import REASONS, OutcomeStore
from casework.audit import AuditLog
from casework.cases import CaseStore

SHABAKA = str(Path(sys.executable).parent / "shabaka")

GOOD_AND_BAD = (
    "entity_type,entity_id,outcome,decided_on,source\n"
    "PROVIDER,PRV-1,confirmed,2025-01-02,inspection-2025\n"
    "doctor,DOC-1,Dismissed,2025-01-03,inspection-2025\n"
    "RING,RING-ABC,referred,2025-02-01,parquet\n"
    "RING,RING-ABD,maybe,2025-01-03,inspection-2025\n"
    "PROVIDER,PRV-2,confirmed,2025-13-01,inspection-2025\n"
    "PROVIDER,PRV-1,confirmed,2025-01-02,inspection-2025\n"
    "PHARMACY,PRV-3,confirmed,2025-01-01,inspection-2025\n"
    "PROVIDER,,confirmed,2025-01-01,inspection-2025\n"
    "PROVIDER,PRV-4,confirmed\n"
    "PROVIDER,PRV-5,dismissed,2999-01-01,inspection-2025\n"
)


def _shabaka(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    env["SHABAKA_HOME"] = str(home)
    return subprocess.run([SHABAKA, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def outcomes_csv(tmp_path) -> Path:
    path = tmp_path / "outcomes.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    return path


def test_import_counts_every_row_as_loaded_or_quarantined_with_a_reason(tmp_path, outcomes_csv):
    home = tmp_path / "home"
    proc = _shabaka(home, "outcomes", "import", str(outcomes_csv), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["read"] == 10 == report["loaded"] + report["quarantined"]
    assert report["loaded"] == 3
    assert report["by_rule"] == {"BAD_DATE": 2, "BAD_ROW": 1, "DUPLICATE_KEY": 1, "MISSING_REQUIRED": 1,
                                 "UNKNOWN_ENTITY_TYPE": 1, "UNKNOWN_OUTCOME": 1}
    with OutcomeStore(home) as store:
        refused = store.quarantine()
    assert set(refused["reason"]) <= set(REASONS)
    by_line = dict(zip(refused["line"], refused["message"]))
    assert "2025-13-01" in by_line[6] and "YYYY-MM-DD" in by_line[6]
    assert "PHARMACY" in by_line[8] and "entity_type" in by_line[8]
    assert json.loads(refused.loc[refused["line"] == 5, "raw_json"].iloc[0])["outcome"] == "maybe"


def test_import_is_idempotent_and_a_repeated_row_in_another_file_is_not_counted_twice(tmp_path, outcomes_csv):
    home = tmp_path / "home"
    assert _shabaka(home, "outcomes", "import", str(outcomes_csv)).returncode == 0
    again = _shabaka(home, "outcomes", "import", str(outcomes_csv))
    assert again.returncode == 0 and "already imported" in again.stdout
    other = tmp_path / "other.csv"
    other.write_text("entity_type,entity_id,outcome,decided_on,source\n"
                     "PROVIDER,PRV-1,confirmed,2025-01-02,inspection-2025\n"
                     "PROVIDER,PRV-9,dismissed,2025-03-02,inspection-2025\n", encoding="utf-8")
    proc = _shabaka(home, "outcomes", "import", str(other), "--json")
    assert json.loads(proc.stdout)["by_rule"] == {"DUPLICATE_KEY": 1}
    listed = json.loads(_shabaka(home, "outcomes", "list", "--json").stdout)
    assert listed["count"] == 4
    assert sorted(r["entity_id"] for r in listed["outcomes"]) == ["DOC-1", "PRV-1", "PRV-9", "RING-ABC"]


def test_a_file_without_the_columns_is_refused_with_exit_2_and_nothing_written(tmp_path):
    home = tmp_path / "home"
    bad = tmp_path / "bad.csv"
    bad.write_text("entity_type,entity_id,verdict\nPROVIDER,PRV-1,confirmed\n", encoding="utf-8")
    proc = _shabaka(home, "outcomes", "import", str(bad))
    assert proc.returncode == 2
    assert "bad.csv" in proc.stderr and "outcome" in proc.stderr and "decided_on" in proc.stderr
    with OutcomeStore(home) as store:
        assert store.outcomes().empty and store.loads().empty


def test_every_import_is_in_the_audit_log(tmp_path, outcomes_csv):
    home = tmp_path / "home"
    _shabaka(home, "outcomes", "import", str(outcomes_csv), "--actor", "inspection-office")
    with AuditLog(home) as log:
        entries = log.entries(action="outcomes_import")
        assert log.verify().ok
    assert len(entries) == 1
    assert entries[0]["actor"] == "inspection-office"
    assert entries[0]["params"]["loaded"] == 3 and entries[0]["params"]["quarantined"] == 7


def test_case_dispositions_are_listed_as_ring_outcomes(tmp_path):
    home = tmp_path / "home"
    with CaseStore(home) as cases:
        for ring, status in (("RING-1", "confirmed"), ("RING-2", "dismissed"), ("RING-3", "in_progress")):
            cases.open_case(ring, actor="alice")
            cases.update(ring, status=status)
    listed = json.loads(_shabaka(home, "outcomes", "list", "--json").stdout)
    got = {(r["entity_type"], r["entity_id"], r["outcome"], r["origin"]) for r in listed["outcomes"]}
    assert got == {("RING", "RING-1", "confirmed", "case"), ("RING", "RING-2", "dismissed", "case")}
