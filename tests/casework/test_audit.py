"""The audit log: chained, append-only, verified from the command line."""

from __future__ import annotations

import json
import sqlite3
import stat
import zipfile

import pandas as pd
import pytest
from click.testing import CliRunner

from casework.audit import KEY_FILE, AuditLog
from casework.runs import RunStore
from ground.errors import ConfigError
from shabaka.cli import cli


def test_entries_chain_and_verify(settings):
    with AuditLog(settings.home_path) as log:
        first = log.append("amina", "view_ring", {"ring_id": "R1"})
        second = log.append("amina", "case_open", {"ring_id": "R1"})
        assert second["prev_hash"] == first["hash"]
        assert log.verify().ok and log.verify().checked == 2
        assert [e["action"] for e in log.entries()] == ["case_open", "view_ring"]


def test_update_and_delete_are_refused_by_triggers(settings):
    with AuditLog(settings.home_path) as log:
        log.append("amina", "view_ring", {"ring_id": "R1"})
        with pytest.raises(sqlite3.IntegrityError):
            log.conn.execute("UPDATE audit SET actor = 'someone else'")
        with pytest.raises(sqlite3.IntegrityError):
            log.conn.execute("DELETE FROM audit")


def _tamper(home, sql):
    conn = sqlite3.connect(home / "shabaka.sqlite")
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("sql, bad", [
    ("UPDATE audit SET params = '{\"ring_id\":\"R9\"}' WHERE id = 2", 2),
    ("DELETE FROM audit WHERE id = 2", 3),
])
def test_verify_names_the_first_tampered_entry(settings, sql, bad):
    with AuditLog(settings.home_path) as log:
        for k in range(4):
            log.append("amina", "view_ring", {"ring_id": f"R{k}"})
    _tamper(settings.home_path, sql)
    with AuditLog(settings.home_path) as log:
        check = log.verify()
    assert (check.ok, check.first_bad, check.checked) == (False, bad, 1)
    result = CliRunner().invoke(cli, ["--home", str(settings.home_path), "audit", "verify"])
    assert result.exit_code == 1 and f"entry {bad}" in result.output


def test_cli_verify_passes_on_an_intact_log(settings):
    with AuditLog(settings.home_path) as log:
        log.append("amina", "login", {})
    result = CliRunner().invoke(cli, ["--home", str(settings.home_path), "audit", "verify"])
    assert result.exit_code == 0 and "1 entries verified" in result.output


def _rechain_without_the_key(home, from_id: int, key: bytes) -> None:
    """Edit entry ``from_id`` and recompute every hash from it on, as someone holding only the database would."""
    from casework.audit import entry_hash

    conn = sqlite3.connect(home / "shabaka.sqlite")
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER audit_no_update")
    rows = [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY id")]
    prev = rows[from_id - 2]["hash"] if from_id > 1 else "0" * 64
    for row in rows[from_id - 1:]:
        params = json.loads(row["params"])
        if row["id"] == from_id:
            params["ring_id"] = "R-EDITED"
        entry = {**row, "params": params}
        new_hash = entry_hash(entry, prev, key)
        conn.execute("UPDATE audit SET params = ?, prev_hash = ?, hash = ? WHERE id = ?",
                     (json.dumps(params, sort_keys=True, separators=(",", ":")), prev, new_hash, row["id"]))
        prev = new_hash
    conn.commit()
    conn.close()


def test_hashes_recomputed_without_the_key_are_caught(settings):
    with AuditLog(settings.home_path) as log:
        for k in range(5):
            log.append("amina", "view_ring", {"ring_id": f"R{k}"})
    _rechain_without_the_key(settings.home_path, 3, b"a guessed key")
    with AuditLog(settings.home_path) as log:
        check = log.verify()
    assert (check.ok, check.first_bad) == (False, 3) and "key" in check.reason
    result = CliRunner().invoke(cli, ["--home", str(settings.home_path), "audit", "verify"])
    assert result.exit_code == 1 and "entry 3" in result.output


def test_the_key_is_kept_outside_the_database_readable_by_its_owner_only(settings):
    with AuditLog(settings.home_path) as log:
        log.append("amina", "login", {})
    key_file = settings.home_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip().encode() not in (settings.home_path / "shabaka.sqlite").read_bytes()
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="owner only"):
        AuditLog(settings.home_path)


def _save_run(home, run_id: str) -> None:
    empty = pd.DataFrame()
    with RunStore(home) as runs:
        runs.save_run(run_id, kind="detect", version="test", params={}, batches=[],
                      rings=pd.DataFrame(columns=["ring_id"]), members=empty, entity_scores=empty)


def test_cutting_the_newest_entries_is_caught_by_a_run_anchor(settings):
    with AuditLog(settings.home_path) as log:
        for k in range(4):
            log.append("amina", "view_ring", {"ring_id": f"R{k}"})
    _save_run(settings.home_path, "run-1")
    with AuditLog(settings.home_path) as log:
        log.append("amina", "view_ring", {"ring_id": "R9"})
        assert log.anchors()[-1]["id"] == 4 and log.verify().ok
    _tamper(settings.home_path, "DELETE FROM audit WHERE id >= 4")
    with AuditLog(settings.home_path) as log:
        check = log.verify()
    assert (check.ok, check.first_bad) == (False, 4) and "run-1" in check.reason and "cut" in check.reason
    result = CliRunner().invoke(cli, ["--home", str(settings.home_path), "audit", "verify"])
    assert result.exit_code == 1 and "entry 4" in result.output


def test_cutting_the_log_is_caught_by_a_bundle_given_out(settings, tmp_path):
    with AuditLog(settings.home_path) as log:
        log.append("amina", "view_ring", {"ring_id": "R1"})
        entry = log.append("amina", "export", {"ring_id": "R1"})
    bundle = tmp_path / "ring.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("shabaka-R1/data/audit-entry.json", json.dumps(entry))
    home = ["--home", str(settings.home_path)]
    assert CliRunner().invoke(cli, [*home, "audit", "verify", "--bundle", str(bundle)]).exit_code == 0
    _tamper(settings.home_path, "DELETE FROM audit WHERE id = 2")
    result = CliRunner().invoke(cli, [*home, "audit", "verify", "--bundle", str(bundle)])
    assert result.exit_code == 1 and "entry 2" in result.output and "bundle" in result.output
    assert CliRunner().invoke(cli, [*home, "audit", "verify"]).exit_code == 0  # without the anchor, undetectable


def test_a_bounded_check_walks_only_the_newest_entries(settings):
    with AuditLog(settings.home_path) as log:
        for k in range(6):
            log.append("amina", "view_ring", {"ring_id": f"R{k}"})
    _tamper(settings.home_path, "UPDATE audit SET params = '{\"ring_id\":\"R9\"}' WHERE id = 2")
    with AuditLog(settings.home_path) as log:
        newest = log.verify(last=3)
        whole = log.verify()
    assert (newest.ok, newest.checked) == (True, 3)  # entries 4-6, from entry 3's stored hash
    assert (whole.ok, whole.first_bad) == (False, 2)
    _tamper(settings.home_path, "UPDATE audit SET params = '{\"ring_id\":\"R9\"}' WHERE id = 5")
    with AuditLog(settings.home_path) as log:
        assert (log.verify(last=3).ok, log.verify(last=3).first_bad) == (False, 5)


def test_a_bounded_check_still_holds_the_log_to_its_anchors(settings):
    with AuditLog(settings.home_path) as log:
        for k in range(5):
            log.append("amina", "view_ring", {"ring_id": f"R{k}"})
        log.anchor("run", "run-1")
        log.append("amina", "view_ring", {"ring_id": "R5"})
    _tamper(settings.home_path, "DELETE FROM audit WHERE id >= 5")
    with AuditLog(settings.home_path) as log:
        check = log.verify(last=2)
    assert (check.ok, check.first_bad) == (False, 5) and "cut" in check.reason
