"""Cases: what investigators decided about a ring, in ``home/shabaka.sqlite``.

A case is keyed by ``ring_id`` (ring ids are stable across runs for the same
anchor entities), so a ring found again next week keeps its case. The weekly
job reads :func:`case_status` to leave dismissed rings quiet.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from casework.store import HomeStore
from ground.errors import InputRefused, NotFound
from ground.sqlite import DB_NAME, connect, transaction

__all__ = ["CaseStore", "case_status", "STATUSES"]

STATUSES = ("open", "in_progress", "confirmed", "dismissed", "referred")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    ring_id      TEXT PRIMARY KEY,
    run_id       TEXT,                      -- run the case was opened from
    status       TEXT NOT NULL,
    assignee     TEXT,
    disposition  TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_comments (
    id       INTEGER PRIMARY KEY,
    ring_id  TEXT NOT NULL REFERENCES cases(ring_id),
    author   TEXT NOT NULL,
    ts       TEXT NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_comments_ring ON case_comments(ring_id, id);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def case_status(home: str | Path, ring_id: str) -> str | None:
    """The status of the case opened on ``ring_id``, or None when there is none.

    Parameters
    ----------
    home : path
        ``SHABAKA_HOME``.
    ring_id : str
    """
    path = Path(home) / DB_NAME
    if not path.exists():
        return None
    conn = connect(path)
    try:
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT status FROM cases WHERE ring_id = ?", (ring_id,)).fetchone()
    finally:
        conn.close()
    return None if row is None else str(row["status"])


class CaseStore(HomeStore):
    """Cases and their comments."""

    SCHEMA = _SCHEMA

    def open_case(self, ring_id: str, *, actor: str, run_id: str | None = None,
                  assignee: str | None = None) -> dict[str, Any]:
        """Open a case on a ring (status ``open``); an existing case is returned unchanged.

        Parameters
        ----------
        ring_id : str
            The ring the case is about.
        actor : str
            Who opens it.
        run_id : str, optional
            The run the ring was seen in.
        assignee : str, optional
            Who works on it (default: ``actor``).
        """
        with transaction(self.conn) as c:
            c.execute(
                "INSERT OR IGNORE INTO cases (ring_id, run_id, status, assignee, created_by, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (ring_id, run_id, "open", assignee or actor, actor, _now(), _now()),
            )
        return self.case(ring_id)

    def case(self, ring_id: str) -> dict[str, Any]:
        """One case with its comments (oldest first); NotFound when the ring has none.

        Parameters
        ----------
        ring_id : str
        """
        row = self.conn.execute("SELECT * FROM cases WHERE ring_id = ?", (ring_id,)).fetchone()
        if row is None:
            raise NotFound(f"no case for ring {ring_id!r}")
        out = dict(row)
        out["comments"] = [dict(r) for r in self.conn.execute(
            "SELECT id, author, ts, body FROM case_comments WHERE ring_id = ? ORDER BY id", (ring_id,))]
        return out

    def get(self, ring_id: str) -> dict[str, Any] | None:
        """Like :meth:`case`, None when the ring has no case.

        Parameters
        ----------
        ring_id : str
        """
        try:
            return self.case(ring_id)
        except NotFound:
            return None

    def update(self, ring_id: str, *, status: str | None = None, assignee: str | None = None,
               disposition: str | None = None) -> dict[str, Any]:
        """Change a case's status, assignee or disposition (None leaves a field as is).

        Parameters
        ----------
        ring_id : str
            A ring with a case.
        status : str, optional
            One of :data:`STATUSES`.
        assignee, disposition : str, optional
            Stripped of surrounding spaces.
        """
        if status is not None and status not in STATUSES:
            raise InputRefused(f"case status {status!r}: expected one of {', '.join(STATUSES)}")
        self.case(ring_id)
        sets, args = ["updated_at = ?"], [_now()]
        for name, value in (("status", status), ("assignee", assignee), ("disposition", disposition)):
            if value is not None:
                sets.append(f"{name} = ?")
                args.append(value.strip() if name != "status" else value)
        with transaction(self.conn) as c:
            c.execute(f"UPDATE cases SET {', '.join(sets)} WHERE ring_id = ?", (*args, ring_id))
        return self.case(ring_id)

    def comment(self, ring_id: str, *, author: str, body: str) -> dict[str, Any]:
        """Add a comment to a case; empty comments are refused.

        Parameters
        ----------
        ring_id : str
            A ring with a case.
        author : str
        body : str
            The comment (stripped; empty is refused).
        """
        body = body.strip()
        if not body:
            raise InputRefused("comment: expected some text")
        self.case(ring_id)
        with transaction(self.conn) as c:
            c.execute("INSERT INTO case_comments (ring_id, author, ts, body) VALUES (?,?,?,?)",
                      (ring_id, author, _now(), body))
            c.execute("UPDATE cases SET updated_at = ? WHERE ring_id = ?", (_now(), ring_id))
        return self.case(ring_id)

    def cases(self, status: str | None = None, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Cases, most recently updated first, with their comment counts.

        Parameters
        ----------
        status : str, optional
            Keep only cases with this status.
        limit, offset : int, optional
            The page of cases (every case when ``limit`` is None).
        """
        sql = ("SELECT c.*, (SELECT COUNT(*) FROM case_comments k WHERE k.ring_id = c.ring_id) AS n_comments"
               " FROM cases c")
        args: tuple = ()
        if status:
            sql += " WHERE c.status = ?"
            args = (status,)
        sql += " ORDER BY c.updated_at DESC, c.ring_id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += (int(limit), int(offset))
        return [dict(r) for r in self.conn.execute(sql, args)]

    def count(self, status: str | None = None) -> int:
        """How many cases there are (with this status when given).

        Parameters
        ----------
        status : str, optional
            Count only cases with this status.
        """
        if status:
            return int(self.conn.execute("SELECT COUNT(*) FROM cases WHERE status = ?", (status,)).fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0])

    def statuses(self) -> dict[str, str]:
        """ring_id -> status for every case."""
        return {r["ring_id"]: r["status"] for r in self.conn.execute("SELECT ring_id, status FROM cases")}
