"""The audit log: chained, append-only, verified, written by the viewer, read by admins."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from shabaka.audit import AuditLog
from shabaka.cli import cli
from tests.web.conftest import RING_ID


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


def test_viewer_records_page_views_and_actions(as_role, filled):
    client = as_role("investigator")
    client.get(f"/rings/{RING_ID}")
    client.post(f"/cases/{RING_ID}/open")
    with AuditLog(filled.home_path) as log:
        entries = log.entries(actor="investigator")
        assert log.verify().ok
    actions = [e["action"] for e in entries]
    assert actions[:3] == ["case_open", "view_ring", "login"]
    assert entries[1]["params"]["ring_id"] == RING_ID


def test_admin_reads_the_log_in_the_viewer(as_role):
    page = as_role("admin").get("/admin/audit").get_data(as_text=True)
    assert "Hash chain intact" in page and "view_audit" in page


def test_users_add_reads_the_password_from_stdin_and_audit_list_shows_it(settings):
    runner = CliRunner()
    home = ["--home", str(settings.home_path)]
    result = runner.invoke(cli, [*home, "users", "add", "leila", "--role", "investigator"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    from web.users import UserStore

    with UserStore(settings.home_path) as store:
        assert store.authenticate("leila", "a-long-password")["role"] == "investigator"
        assert store.authenticate("leila", "wrong") is None
    listed = runner.invoke(cli, [*home, "audit", "list"])
    assert "user_add" in listed.output and "a-long-password" not in listed.output
