"""Revocable sessions, throttling that cannot lock out the right password, audited refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from casework.audit import AuditLog
from casework.users import UserStore
from tests.web.conftest import PASSWORD, login
from web.auth import DEVICE_COOKIE

SHABAKA = Path(sys.executable).with_name("shabaka")


def _stale_copy(client, app):
    """A second client holding the same session cookie, as a thief or a forgotten tab would."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def test_logout_revokes_the_cookie_everywhere(app):
    client = login(app.test_client(), "investigator")
    copy = _stale_copy(client, app)
    assert copy.get("/").status_code == 200
    client.post("/logout")
    assert copy.get("/").status_code == 302
    assert copy.get("/api/runs").status_code == 401


def test_a_password_reset_revokes_open_sessions(app, filled):
    client = login(app.test_client(), "analyst")
    copy = _stale_copy(client, app)
    with UserStore(filled.home_path) as store:
        store.add("analyst", "analyst", "a-new-long-password", replace=True)
    assert copy.get("/api/runs").status_code == 401
    assert client.get("/api/runs").status_code == 401
    assert app.test_client().post("/login", data={"name": "analyst", "password": "a-new-long-password"}).status_code == 302


def test_users_disable_ends_sessions_and_sign_in_and_enable_restores_sign_in(app, filled):
    client = login(app.test_client(), "investigator")
    home = ["--home", str(filled.home_path)]
    done = subprocess.run([str(SHABAKA), *home, "users", "disable", "investigator"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert client.get("/api/runs").status_code == 401
    assert app.test_client().post("/login", data={"name": "investigator", "password": PASSWORD}).status_code == 401
    done = subprocess.run([str(SHABAKA), *home, "users", "enable", "investigator"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert client.get("/api/runs").status_code == 401  # the old cookie stays dead
    login(app.test_client(), "investigator")
    unknown = subprocess.run([str(SHABAKA), *home, "users", "disable", "nobody"], capture_output=True, text=True)
    assert unknown.returncode != 0 and "nobody" in unknown.stderr
    with AuditLog(filled.home_path) as log:
        actions = [e["action"] for e in log.entries(limit=20, actor="cli")]
    assert "user_disable" in actions and "user_enable" in actions


def _fail(client, name: str, times: int, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        assert client.post("/login", data={"name": name, "password": "wrong-password"},
                           environ_base={"REMOTE_ADDR": address}).status_code == 401


def test_a_third_party_cannot_lock_out_a_browser_that_signed_in_before(app, filled):
    owner = login(app.test_client(), "admin")
    owner.post("/logout")
    assert owner.get_cookie(DEVICE_COOKIE) is not None
    attacker = app.test_client()
    _fail(attacker, "admin", filled.login_attempts)  # same address as the owner
    assert attacker.post("/login", data={"name": "admin", "password": PASSWORD}).status_code == 429
    assert owner.post("/login", data={"name": "admin", "password": PASSWORD}).status_code == 302


def test_the_right_password_from_a_new_address_is_not_blocked(app, filled):
    attacker = app.test_client()
    _fail(attacker, "admin", filled.login_attempts, address="203.0.113.7")
    assert attacker.post("/login", data={"name": "admin", "password": PASSWORD},
                         environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 429
    newcomer = app.test_client()
    assert newcomer.post("/login", data={"name": "admin", "password": PASSWORD},
                         environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 302


def test_a_known_browser_guessing_wrong_is_throttled_itself(app, filled):
    owner = login(app.test_client(), "admin")
    owner.post("/logout")
    _fail(owner, "admin", filled.login_attempts)
    assert owner.post("/login", data={"name": "admin", "password": PASSWORD}).status_code == 429
    assert app.test_client().post("/login", data={"name": "admin", "password": PASSWORD},
                                  environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 302


def test_a_forged_or_foreign_device_cookie_counts_for_nothing(app, filled):
    owner = login(app.test_client(), "analyst")
    token = owner.get_cookie(DEVICE_COOKIE).value
    attacker = app.test_client()
    attacker.set_cookie(DEVICE_COOKIE, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    _fail(attacker, "admin", filled.login_attempts)
    assert attacker.post("/login", data={"name": "admin", "password": PASSWORD}).status_code == 429
    foreign = app.test_client()
    foreign.set_cookie(DEVICE_COOKIE, token)  # issued to analyst, not admin
    assert foreign.post("/login", data={"name": "admin", "password": PASSWORD}).status_code == 429


def test_refusals_for_the_role_are_audited(as_role, filled):
    client = as_role("analyst")
    assert client.get("/admin/audit").status_code == 403
    assert client.post("/cases/RING-TINY-1/open").status_code == 403
    with AuditLog(filled.home_path) as log:
        denied = [e["params"] for e in log.entries(limit=10, actor="analyst", action="denied")]
    assert {d["endpoint"] for d in denied} == {"audit.audit_page", "cases.open_case"}
    assert {d["method"] for d in denied} == {"GET", "POST"}
