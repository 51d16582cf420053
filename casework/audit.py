"""The audit log: an append-only, keyed hash chain of who saw or did what, with anchors.

Each entry's hash is the HMAC-SHA256, under the audit key, of the canonical JSON
of the entry (id, ts, actor, action, params) followed by the previous entry's
hash, so changing, inserting or removing any row breaks the chain from that row
on, and nobody without the key can recompute the hashes after an edit. The key
is kept apart from the database, in ``HOME/keys/audit.key`` (created mode 0600;
a copy of ``shabaka.sqlite`` alone cannot be re-chained). SQLite triggers refuse
UPDATE and DELETE on the table; :meth:`AuditLog.verify` catches whoever edits
the file around them.

Deleting the newest entries leaves a valid chain, so the log is anchored: each
run records the latest entry's id and hash (:meth:`AuditLog.anchor`) in
``HOME/keys/audit-anchors.jsonl``, outside the database, and each evidence
bundle carries its own export entry (``data/audit-entry.json``). An anchor whose
entry is missing or differs makes :meth:`AuditLog.verify` fail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from casework.store import HomeStore
from ground.errors import ConfigError
from ground.files import secret_key
from ground.sqlite import transaction

__all__ = ["AuditLog", "AuditCheck", "entry_hash", "audit_key", "GENESIS", "KEY_FILE", "ANCHOR_FILE"]

GENESIS = "0" * 64
#: The audit key and the anchors, beside the pseudonym key, outside ``shabaka.sqlite``.
KEY_FILE = Path("keys") / "audit.key"
ANCHOR_FILE = Path("keys") / "audit-anchors.jsonl"

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

    ``first_bad`` is the id of the first entry whose hash or link does not hold, or
    of the entry an anchor names that is missing or differs; ``reason`` says which.
    """

    ok: bool
    checked: int
    first_bad: int | None
    reason: str = ""


def entry_hash(entry: dict[str, Any], prev_hash: str, key: bytes) -> str:
    """HMAC-SHA256 (hex), under ``key``, of the canonical JSON of ``entry`` followed by ``prev_hash``.

    Parameters
    ----------
    entry : dict
        Keys id, ts, actor, action, params (params a dict).
    prev_hash : str
        The previous entry's hash, or :data:`GENESIS` for the first.
    key : bytes
        The audit key (:func:`audit_key`).
    """
    body = {k: entry[k] for k in ("id", "ts", "actor", "action", "params")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(key, (canonical + prev_hash).encode("utf-8"), hashlib.sha256).hexdigest()


def audit_key(home: str | Path) -> bytes:
    """The audit key, ``HOME/keys/audit.key`` (32 random bytes, hex), created mode 0600 the first time.

    Parameters
    ----------
    home : path
        ``SHABAKA_HOME``.

    Raises
    ------
    ConfigError
        The key file is empty or readable by others than its owner.
    """
    return secret_key(Path(home) / KEY_FILE, "audit key")


class AuditLog(HomeStore):
    """The ``audit`` table of ``home/shabaka.sqlite``."""

    SCHEMA = _SCHEMA

    def _opened(self) -> None:
        self._key = audit_key(self.home)

    def append(self, actor: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Append one entry, chained to the last; returns it with its hash.

        The read of the last hash and the insert share one immediate
        transaction, so concurrent writers cannot fork the chain.

        Parameters
        ----------
        actor : str
            Who acted (an account name, ``cli``...).
        action : str
            What was done (``view_ring``, ``export_bundle``...).
        params : dict
            What it was done on; written as JSON, never personal identifiers.
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
            entry["hash"] = entry_hash(entry, prev, self._key)
            c.execute(
                "INSERT INTO audit (id, ts, actor, action, params, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
                (entry["id"], entry["ts"], entry["actor"], entry["action"],
                 json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                 prev, entry["hash"]),
            )
        return entry

    def entries(self, limit: int = 100, offset: int = 0, *, actor: str | None = None,
                action: str | None = None) -> list[dict[str, Any]]:
        """Entries newest first, optionally filtered by actor or action.

        Parameters
        ----------
        limit, offset : int
            The page of entries.
        actor, action : str, optional
            Keep only this actor's or this action's entries.
        """
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

    def head(self) -> dict[str, Any] | None:
        """The newest entry's ``{id, hash}``, or None for an empty log."""
        row = self.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else {"id": int(row["id"]), "hash": str(row["hash"])}

    def anchor(self, kind: str, ref: str) -> dict[str, Any] | None:
        """Record the newest entry's id and hash outside the database, for ``kind`` ``ref`` (a run, say).

        Appended to ``HOME/keys/audit-anchors.jsonl`` (mode 0600); returns the anchor,
        or None when the log is empty.

        Parameters
        ----------
        kind : str
            What the anchor is for (``run``...).
        ref : str
            Its id.
        """
        head = self.head()
        if head is None:
            return None
        record = {"kind": kind, "ref": ref, **head,
                  "ts": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        path = self.home / ANCHOR_FILE
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return record

    def anchors(self) -> list[dict[str, Any]]:
        """The anchors recorded by :meth:`anchor`, oldest first (unreadable lines raise ConfigError)."""
        path = self.home / ANCHOR_FILE
        if not path.exists():
            return []
        out = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                out.append({"kind": str(record["kind"]), "ref": str(record["ref"]), "id": int(record["id"]),
                            "hash": str(record["hash"])})
            except (ValueError, KeyError, TypeError):
                raise ConfigError(f"{path}, line {number}: expected a JSON anchor with kind, ref, id, hash") from None
        return out

    def verify(self, extra_anchors: list[dict[str, Any]] | None = None, *, last: int | None = None) -> AuditCheck:
        """Walk the keyed chain from the first entry (or the ``last`` newest), then check every anchor against it.

        Holds one entry at a time, whatever the log's length.

        Parameters
        ----------
        extra_anchors : list of dict, optional
            More ``{id, hash, ref}`` to hold the log to (the audit entries of evidence bundles).
        last : int, optional
            Walk only the newest ``last`` entries, from the stored hash of the entry before
            them (a bounded check for a page; ``shabaka audit verify`` walks the whole chain).
            Anchors older than them are compared with the stored hashes.
        """
        start, prev = 1, GENESIS
        head = self.head()
        if last is not None and head is not None and head["id"] > last:
            start = head["id"] - int(last) + 1
            row = self.conn.execute("SELECT hash FROM audit WHERE id = ?", (start - 1,)).fetchone()
            if row is None:
                return AuditCheck(False, 0, start - 1, "an entry before it is missing or changed")
            prev = str(row[0])
        checked = 0
        expected_id = start
        for row in self.conn.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id", (start,)):
            try:
                entry = _row_to_entry(row)
            except ValueError:
                return AuditCheck(False, checked, int(row["id"]), "unreadable parameters")
            if entry["id"] != expected_id or entry["prev_hash"] != prev:
                return AuditCheck(False, checked, entry["id"], "an entry before it is missing or changed")
            if entry_hash(entry, prev, self._key) != entry["hash"]:
                return AuditCheck(False, checked, entry["id"], "its hash does not match its content under the key")
            prev = entry["hash"]
            checked += 1
            expected_id += 1
        # The walk left ids contiguous and every hash checked from ``start`` on, so an anchor's entry
        # is read back by id rather than kept from the walk.
        for anchor in [*self.anchors(), *(extra_anchors or [])]:
            row = self.conn.execute("SELECT hash FROM audit WHERE id = ?", (int(anchor["id"]),)).fetchone()
            found = None if row is None else str(row[0])
            if found != anchor["hash"]:
                what = "is missing (the log was cut)" if found is None else "differs from the one recorded"
                return AuditCheck(False, checked, int(anchor["id"]),
                                  f"entry {anchor['id']}, anchored by {anchor.get('kind', 'bundle')} "
                                  f"{anchor.get('ref', '')}, {what}")
        return AuditCheck(True, checked, None)


def _row_to_entry(row) -> dict[str, Any]:
    out = dict(row)
    out["params"] = json.loads(out["params"])
    return out
