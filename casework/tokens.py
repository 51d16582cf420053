"""API tokens for machines that score dossiers (the fund's intake system), in ``HOME/shabaka.sqlite``.

A token authenticates ``POST /api/score`` only, never a page or another API. It is shown
once when created; the table keeps its SHA-256 (a random 256-bit token needs no slow
hash), so the file holds nothing that opens the API.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timezone
from typing import Any

from casework.store import HomeStore
from ground.errors import InputRefused, NotFound
from ground.sqlite import transaction

__all__ = ["TokenStore", "TOKEN_PREFIX"]

TOKEN_PREFIX = "shk_"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_tokens (
    name        TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
"""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore(HomeStore):
    """API tokens: add (shown once), verify, revoke, list."""

    SCHEMA = _SCHEMA

    def add(self, name: str, *, created_by: str, replace: bool = False) -> str:
        """Create the token ``name`` and return it (the only time it is shown).

        Parameters
        ----------
        name : str
        created_by : str
        replace : bool
            Replace a live token of that name.

        Raises
        ------
        InputRefused
            The name is not 1-64 letters, digits, ``_ . -``, or is taken (without ``replace``).
        """
        if not _NAME.match(name or ""):
            raise InputRefused(f"token name {name!r}: expected 1-64 letters, digits, '_', '.' or '-'")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with transaction(self.conn) as c:
            if c.execute("SELECT 1 FROM api_tokens WHERE name = ?", (name,)).fetchone() and not replace:
                raise InputRefused(f"token {name!r} exists; revoke it or pass --replace")
            c.execute("INSERT OR REPLACE INTO api_tokens VALUES (?,?,?,?,NULL)", (name, _digest(token), created_by, now))
        return token

    def verify(self, token: str) -> str | None:
        """The name of the live token ``token``, or None.

        Parameters
        ----------
        token : str
        """
        if not token.startswith(TOKEN_PREFIX):
            return None
        row = self.conn.execute("SELECT name FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                                (_digest(token),)).fetchone()
        return None if row is None else str(row[0])

    def revoke(self, name: str) -> None:
        """Revoke a token at once; NotFound when there is no live token of that name.

        Parameters
        ----------
        name : str
        """
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with transaction(self.conn) as c:
            done = c.execute("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                             (now, name)).rowcount
        if not done:
            raise NotFound(f"no live token named {name!r}")

    def tokens(self) -> list[dict[str, Any]]:
        """Every token's name, creator, dates (never the token)."""
        return [dict(r) for r in self.conn.execute(
            "SELECT name, created_by, created_at, revoked_at FROM api_tokens ORDER BY name")]
