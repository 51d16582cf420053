"""Local accounts and login throttling, in ``home/shabaka.sqlite``.

Passwords are stored as werkzeug scrypt hashes. Failed logins are counted per
account and address; the pair is stored as a hash so the table holds no
address in clear.
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
    active         INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS login_failures (
    key  TEXT NOT NULL,
    ts   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures(key, ts);
"""


class UserStore(HomeStore):
    """Accounts of the viewer.

    Parameters
    ----------
    home : path
        ``SHABAKA_HOME``.
    """

    SCHEMA = _SCHEMA

    def add(self, name: str, role: str, password: str, *, replace: bool = False) -> dict[str, Any]:
        """Create an account (or reset it when ``replace``); refuses unknown roles and short passwords."""
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
            c.execute(
                "INSERT OR REPLACE INTO users (name, role, password_hash, created_at, active) VALUES (?,?,?,?,1)",
                (name, role, generate_password_hash(password, method="scrypt"),
                 datetime.now(timezone.utc).isoformat(timespec="seconds")),
            )
        return self.user(name)

    def user(self, name: str) -> dict[str, Any]:
        """An active account without its hash; NotFound otherwise."""
        row = self.conn.execute(
            "SELECT name, role, created_at FROM users WHERE name = ? AND active = 1", (name,)).fetchone()
        if row is None:
            raise NotFound(f"user {name!r} not found")
        return dict(row)

    def users(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(
            "SELECT name, role, created_at, active FROM users ORDER BY name")]

    def authenticate(self, name: str, password: str) -> dict[str, Any] | None:
        """The account when the password matches, else None (same work for unknown names)."""
        row = self.conn.execute(
            "SELECT name, role, created_at, password_hash FROM users WHERE name = ? AND active = 1",
            (name,)).fetchone()
        if row is None:
            # Hash anyway so response time does not reveal which names exist.
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(row["password_hash"], password):
            return None
        return {k: row[k] for k in ("name", "role", "created_at")}

    def failures(self, name: str, address: str, *, now: float | None = None) -> int:
        """Failed logins of this account from this address in the last 15 minutes."""
        now = time.time() if now is None else now
        row = self.conn.execute("SELECT COUNT(*) FROM login_failures WHERE key = ? AND ts > ?",
                                (_throttle_key(name, address), now - THROTTLE_WINDOW_S)).fetchone()
        return int(row[0])

    def record_failure(self, name: str, address: str, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with transaction(self.conn) as c:
            c.execute("DELETE FROM login_failures WHERE ts <= ?", (now - THROTTLE_WINDOW_S,))
            c.execute("INSERT INTO login_failures (key, ts) VALUES (?, ?)", (_throttle_key(name, address), now))

    def clear_failures(self, name: str, address: str) -> None:
        with transaction(self.conn) as c:
            c.execute("DELETE FROM login_failures WHERE key = ?", (_throttle_key(name, address),))


def _throttle_key(name: str, address: str) -> str:
    return hashlib.sha256(f"{name}\x00{address}".encode("utf-8")).hexdigest()


_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")
