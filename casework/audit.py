"""The audit log: an append-only, hash-chained record of who saw or did what.

Each entry's hash is the SHA-256 of the canonical JSON of the entry (id, ts,
actor, action, params) followed by the previous entry's hash, so changing,
inserting or removing any row breaks the chain from that row on. SQLite
triggers refuse UPDATE and DELETE on the table; :meth:`AuditLog.verify` catches
whoever edits the file around them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from casework.store import HomeStore
from ground.sqlite import transaction

__all__ = ["AuditLog", "AuditCheck", "entry_hash", "GENESIS"]

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id         INTEGER PRIMARY KEY,
    ts         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    params     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


@dataclass(frozen=True)
class AuditCheck:
    """Result of :meth:`AuditLog.verify`.

    ``first_bad`` is the id of the first entry whose hash or link does not hold.
    """

    ok: bool
    checked: int
    first_bad: int | None


def entry_hash(entry: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical JSON of ``entry`` followed by ``prev_hash``.

    Parameters
    ----------
    entry : dict
        Keys id, ts, actor, action, params (params a dict).
    prev_hash : str
        The previous entry's hash, or :data:`GENESIS` for the first.
    """
    body = {k: entry[k] for k in ("id", "ts", "actor", "action", "params")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256((canonical + prev_hash).encode("utf-8")).hexdigest()


class AuditLog(HomeStore):
    """The ``audit`` table of ``home/shabaka.sqlite``.

    Parameters
    ----------
    home : path
        ``SHABAKA_HOME``.
    """

    SCHEMA = _SCHEMA

    def append(self, actor: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Append one entry, chained to the last; returns it with its hash.

        The read of the last hash and the insert share one immediate
        transaction, so concurrent writers cannot fork the chain.
        """
        params = json.loads(json.dumps(params, sort_keys=True, default=str))
        with transaction(self.conn) as c:
            last = c.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            entry = {
                "id": (last["id"] + 1) if last else 1,
                "ts": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                "actor": str(actor),
                "action": str(action),
                "params": params,
            }
            prev = last["hash"] if last else GENESIS
            entry["prev_hash"] = prev
            entry["hash"] = entry_hash(entry, prev)
            c.execute(
                "INSERT INTO audit (id, ts, actor, action, params, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
                (entry["id"], entry["ts"], entry["actor"], entry["action"],
                 json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                 prev, entry["hash"]),
            )
        return entry

    def entries(self, limit: int = 100, offset: int = 0, *, actor: str | None = None,
                action: str | None = None) -> list[dict[str, Any]]:
        """Entries newest first, optionally filtered by actor or action."""
        sql = "SELECT * FROM audit"
        where, args = [], []
        if actor:
            where.append("actor = ?")
            args.append(actor)
        if action:
            where.append("action = ?")
            args.append(action)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        rows = self.conn.execute(sql, (*args, int(limit), int(offset))).fetchall()
        return [_row_to_entry(r) for r in rows]

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])

    def verify(self) -> AuditCheck:
        """Walk the chain from the first entry; stop at the first entry that does not hold."""
        prev = GENESIS
        checked = 0
        expected_id = 1
        for row in self.conn.execute("SELECT * FROM audit ORDER BY id"):
            try:
                entry = _row_to_entry(row)
            except ValueError:
                return AuditCheck(False, checked, int(row["id"]))
            if (entry["id"] != expected_id or entry["prev_hash"] != prev
                    or entry_hash(entry, prev) != entry["hash"]):
                return AuditCheck(False, checked, entry["id"])
            prev = entry["hash"]
            checked += 1
            expected_id += 1
        return AuditCheck(True, checked, None)


def _row_to_entry(row) -> dict[str, Any]:
    out = dict(row)
    out["params"] = json.loads(out["params"])
    return out
