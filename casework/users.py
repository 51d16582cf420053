"""Local accounts and login throttling, in ``home/shabaka.sqlite``.

Passwords are stored as werkzeug scrypt hashes. Failed logins are counted per
account and client (a device cookie, else the address); the pair is stored as a
hash so the table holds no address in clear. Each account has a session
version that session cookies carry: logout, a password reset and disabling the
account bump it, so every cookie issued before is refused.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timezone
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from casework.store import HomeStore
from ground.errors import InputRefused, NotFound
from ground.sqlite import transaction

__all__ = ["UserStore", "ROLES", "THROTTLE_WINDOW_S"]

ROLES = ("analyst", "investigator", "admin")
THROTTLE_WINDOW_S = 15 * 60
_MIN_PASSWORD = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name           TEXT PRIMARY KEY,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1,
    session_version INTEGER NOT NULL DEFAULT 0  -- bumped by logout, reset, disable: older cookies are refused
);
CREATE TABLE IF NOT EXISTS login_failures (
    key  TEXT NOT NULL,
    ts   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures(key, ts);
"""


class UserStore(HomeStore):
    """Accounts of the viewer."""

    SCHEMA = _SCHEMA

    def _opened(self) -> None:
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(users)")}
        if "session_version" not in columns:  # a HOME made before sessions could be revoked
            with transaction(self.conn) as c:
                c.execute("ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0")

    def add(self, name: str, role: str, password: str, *, replace: bool = False) -> dict[str, Any]:
        """Create an account (or reset it when ``replace``); refuses unknown roles and short passwords.

        Parameters
        ----------
        name : str
        role : str
            One of :data:`ROLES`.
        password : str
            Stored as a scrypt hash.
        replace : bool
            Reset an existing account instead of refusing it.
        """
        name = name.strip()
        if not name or len(name) > 64 or any(ch.isspace() for ch in name):
            raise InputRefused(f"user name {name!r}: expected 1-64 characters without spaces")
        if role not in ROLES:
            raise InputRefused(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if len(password) < _MIN_PASSWORD:
            raise InputRefused(f"password: expected at least {_MIN_PASSWORD} characters")
        exists = self.conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
        if exists and not replace:
            raise InputRefused(f"user {name!r} already exists")
        with transaction(self.conn) as c:
            # A reset keeps the account's session version and bumps it: its open sessions end.
            c.execute(
                "INSERT INTO users (name, role, password_hash, created_at, active) VALUES (?,?,?,?,1)"
                " ON CONFLICT(name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,"
                " active = 1, session_version = session_version + 1",
                (name, role, generate_password_hash(password, method="scrypt"),
                 datetime.now(timezone.utc).isoformat(timespec="seconds")),
            )
        return self.user(name)

    def set_active(self, name: str, active: bool) -> dict[str, Any]:
        """Disable (every session ends, no sign-in) or enable an account; NotFound for an unknown name.

        Parameters
        ----------
        name : str
        active : bool
        """
        with transaction(self.conn) as c:
            changed = c.execute("UPDATE users SET active = ?, session_version = session_version + ? WHERE name = ?",
                                (int(active), int(not active), name)).rowcount
        if not changed:
            raise NotFound(f"user {name!r} not found")
        return dict(self.conn.execute("SELECT name, role, created_at, active FROM users WHERE name = ?",
                                      (name,)).fetchone())

    def end_sessions(self, name: str) -> None:
        """Make every session cookie issued so far for this account invalid (logout ends them all).

        Parameters
        ----------
        name : str
        """
        with transaction(self.conn) as c:
            c.execute("UPDATE users SET session_version = session_version + 1 WHERE name = ?", (name,))

    def session_user(self, name: str, version: Any) -> dict[str, Any] | None:
        """The active account a session cookie names, if the cookie's version is the account's current one.

        Parameters
        ----------
        name : str
            The account the cookie names.
        version : object
            The cookie's session version.
        """
        row = self.conn.execute(
            "SELECT name, role, created_at, session_version FROM users WHERE name = ? AND active = 1",
            (name,)).fetchone()
        if row is None or not isinstance(version, int) or row["session_version"] != version:
            return None
        return dict(row)

    def user(self, name: str) -> dict[str, Any]:
        """An active account without its hash; NotFound otherwise.

        Parameters
        ----------
        name : str
        """
        row = self.conn.execute(
            "SELECT name, role, created_at FROM users WHERE name = ? AND active = 1", (name,)).fetchone()
        if row is None:
            raise NotFound(f"user {name!r} not found")
        return dict(row)

    def users(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(
            "SELECT name, role, created_at, active FROM users ORDER BY name")]

    def authenticate(self, name: str, password: str) -> dict[str, Any] | None:
        """The account when the password matches, else None (same work for unknown names).

        Parameters
        ----------
        name : str
        password : str
        """
        row = self.conn.execute(
            "SELECT name, role, created_at, session_version, password_hash FROM users WHERE name = ? AND active = 1",
            (name,)).fetchone()
        if row is None:
            # Hash anyway so response time does not reveal which names exist.
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(row["password_hash"], password):
            return None
        return {k: row[k] for k in ("name", "role", "created_at", "session_version")}

    def failures(self, name: str, address: str, *, now: float | None = None) -> int:
        """Failed logins of this account from this client in the last 15 minutes.

        ``address`` names the client: the viewer passes ``device:<id>`` for a browser
        holding this account's device cookie, else ``address:<IP>``.

        Parameters
        ----------
        name : str
            The account name tried.
        address : str
            The client (see above).
        now : float, optional
            Unix time (default: now).
        """
        now = time.time() if now is None else now
        row = self.conn.execute("SELECT COUNT(*) FROM login_failures WHERE key = ? AND ts > ?",
                                (_throttle_key(name, address), now - THROTTLE_WINDOW_S)).fetchone()
        return int(row[0])

    def record_failure(self, name: str, address: str, *, now: float | None = None) -> None:
        """Count one failed login of this account from this address; older ones expire.

        Parameters
        ----------
        name : str
            The account name tried.
        address : str
            The client's address.
        now : float, optional
            Unix time (default: now).
        """
        now = time.time() if now is None else now
        with transaction(self.conn) as c:
            c.execute("DELETE FROM login_failures WHERE ts <= ?", (now - THROTTLE_WINDOW_S,))
            c.execute("INSERT INTO login_failures (key, ts) VALUES (?, ?)", (_throttle_key(name, address), now))

    def clear_failures(self, name: str, address: str) -> None:
        """Forget the failed logins of this account from this address (after a success).

        Parameters
        ----------
        name : str
        address : str
        """
        with transaction(self.conn) as c:
            c.execute("DELETE FROM login_failures WHERE key = ?", (_throttle_key(name, address),))


def _throttle_key(name: str, address: str) -> str:
    return hashlib.sha256(f"{name}\x00{address}".encode("utf-8")).hexdigest()


_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")
