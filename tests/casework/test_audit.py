"""The audit log: chained, append-only, verified from the command line."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from casework.audit import AuditLog
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
