"""The store of detection runs and their findings, in ``HOME/shabaka.sqlite``.

A run is written in one transaction: readers (the viewer) see either the whole
run or none of it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from casework.audit import AuditLog
from casework.store import HomeStore
from ground.errors import NotFound
from ground.sqlite import DB_NAME, transaction

__all__ = ["RunStore", "DB_NAME", "SCHEMA"]


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id        TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,            -- detect | weekly
    week          TEXT,                     -- ISO week YYYY-Www for weekly runs
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL,            -- running | ok | failed
    window_from   TEXT,
    window_to     TEXT,
    version       TEXT NOT NULL,
    params_json   TEXT NOT NULL,            -- detector parameters, settings used
    batches_json  TEXT NOT NULL,            -- [{batch_id, sha256, rows}] the claims it read
    stats_json    TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS rings (
    run_id          TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    ring_id         TEXT NOT NULL,
    rank            INTEGER NOT NULL,
    score           REAL NOT NULL,
    size            INTEGER NOT NULL,
    amount_at_risk  REAL NOT NULL,
    summary         TEXT NOT NULL,
    scenario        TEXT,                   -- detector pattern that led (funnel, kickback, ...)
    regions         TEXT,                   -- comma-separated region codes
    regimes         TEXT,                   -- comma-separated regimes
    extra_json      TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, ring_id)
);
CREATE TABLE IF NOT EXISTS members (
    run_id       TEXT NOT NULL,
    ring_id      TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    role         TEXT NOT NULL,
    score        REAL NOT NULL,
    evidence     TEXT NOT NULL,
    PRIMARY KEY (run_id, ring_id, entity_type, entity_id),
    FOREIGN KEY (run_id, ring_id) REFERENCES rings(run_id, ring_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS members_entity ON members(entity_id, entity_type);
CREATE TABLE IF NOT EXISTS entity_scores (
    run_id       TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    score        REAL NOT NULL,
    top_reason   TEXT NOT NULL,
    PRIMARY KEY (run_id, entity_type, entity_id)
);
CREATE TABLE IF NOT EXISTS alerts (
    run_id       TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    ring_id      TEXT NOT NULL,
    change       TEXT NOT NULL,             -- new | grown | unchanged | gone
    detail       TEXT NOT NULL,
    alerted      INTEGER NOT NULL,          -- 1 when investigators are told
    PRIMARY KEY (run_id, ring_id)
);
"""

_RING_COLS = ["ring_id", "rank", "score", "size", "amount_at_risk", "summary", "scenario", "regions", "regimes"]
_MEMBER_COLS = ["ring_id", "entity_type", "entity_id", "role", "score", "evidence"]
_SCORE_COLS = ["entity_type", "entity_id", "score", "top_reason"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunStore(HomeStore):
    """Runs, rings, members, entity scores and alerts."""

    SCHEMA = SCHEMA

    def save_run(
        self,
        run_id: str,
        *,
        kind: str,
        version: str,
        params: dict[str, Any],
        batches: list[dict[str, Any]],
        rings: pd.DataFrame,
        members: pd.DataFrame,
        entity_scores: pd.DataFrame,
        alerts: pd.DataFrame | None = None,
        week: str | None = None,
        window: tuple[str | None, str | None] = (None, None),
        stats: dict[str, Any] | None = None,
        started_at: str | None = None,
    ) -> str:
        """Write a finished run and all its findings in one transaction; replaces a run of the same id.

        Parameters
        ----------
        run_id : str
            Replaces a stored run of the same id.
        kind : {'detect', 'weekly'}
        version : str
            Software version.
        params : dict
            Detector parameters and settings used.
        batches : list of dict
            The claim batches read: batch_id, sha256, rows.
        rings, members, entity_scores : DataFrame
            The findings, per the findings contract.
        alerts : DataFrame, optional
            The weekly job's alerts.
        week : str, optional
            ISO week of a weekly run.
        window : (str or None, str or None)
            First and last service dates read.
        stats : dict, optional
            Counts about the run.
        started_at : str, optional
            ISO time the run started (default: now).
        """
        with transaction(self.conn) as c:
            c.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            c.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id, kind, week, started_at or _now(), _now(), "ok", window[0], window[1], version,
                    json.dumps(params, sort_keys=True, default=str),
                    json.dumps(batches, sort_keys=True, default=str),
                    json.dumps(stats or {}, sort_keys=True, default=str),
                ),
            )
            ring_rows = rings.reindex(columns=_RING_COLS)
            extra_cols = [col for col in rings.columns if col not in _RING_COLS]
            for rec, (_, row) in zip(ring_rows.itertuples(index=False), rings.iterrows()):
                extra = {col: row[col] for col in extra_cols}
                c.execute(
                    "INSERT INTO rings VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, str(rec.ring_id), int(rec.rank), float(rec.score), int(rec.size),
                     float(rec.amount_at_risk), str(rec.summary),
                     None if pd.isna(rec.scenario) else str(rec.scenario),
                     None if pd.isna(rec.regions) else str(rec.regions),
                     None if pd.isna(rec.regimes) else str(rec.regimes),
                     json.dumps(extra, default=str)),
                )
            c.executemany(
                "INSERT INTO members VALUES (?,?,?,?,?,?,?)",
                [(run_id, str(r.ring_id), str(r.entity_type), str(r.entity_id), str(r.role), float(r.score),
                  str(r.evidence)) for r in members.reindex(columns=_MEMBER_COLS).itertuples(index=False)],
            )
            c.executemany(
                "INSERT INTO entity_scores VALUES (?,?,?,?,?)",
                [(run_id, str(r.entity_type), str(r.entity_id), float(r.score), str(r.top_reason))
                 for r in entity_scores.reindex(columns=_SCORE_COLS).itertuples(index=False)],
            )
            if alerts is not None:
                c.executemany(
                    "INSERT INTO alerts VALUES (?,?,?,?,?)",
                    [(run_id, str(r.ring_id), str(r.change), str(r.detail), int(bool(r.alerted)))
                     for r in alerts.itertuples(index=False)],
                )
        # The audit log's newest entry, recorded outside the database with the run: cutting the log is caught.
        AuditLog(self.path.parent, conn=self.conn).anchor("run", run_id)
        return run_id

    def runs(self, kind: str | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """Finished runs, newest first.

        Parameters
        ----------
        kind : str, optional
            Keep only runs of this kind.
        limit : int, optional
            Most runs returned (the newest); all when None.
        """
        sql, args = self._finished("*", kind)
        if limit is not None:
            sql += " LIMIT ?"
            args += (int(limit),)
        return pd.read_sql_query(sql, self.conn, params=args)

    def run(self, run_id: str) -> dict[str, Any]:
        """One run with its parameters, batches and stats decoded; NotFound when unknown.

        Parameters
        ----------
        run_id : str
            The run.
        """
        row = self.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFound(f"run {run_id!r} not found")
        out = dict(row)
        for key in ("params_json", "batches_json", "stats_json"):
            out[key[:-5]] = json.loads(out.pop(key))
        return out

    def latest_run_id(self, kind: str | None = None) -> str | None:
        """The newest finished run's id, or None when there is none.

        Parameters
        ----------
        kind : str, optional
            Only runs of this kind.
        """
        sql, args = self._finished("run_id", kind)
        row = self.conn.execute(sql + " LIMIT 1", args).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _finished(columns: str, kind: str | None) -> tuple[str, tuple]:
        """The query of finished runs (of ``kind`` when given), newest first, and its arguments."""
        where, args = ("status = 'ok' AND kind = ?", (kind,)) if kind else ("status = 'ok'", ())
        return f"SELECT {columns} FROM runs WHERE {where} ORDER BY finished_at DESC, run_id DESC", args

    def rings(self, run_id: str) -> pd.DataFrame:
        """A run's rings, by rank.

        Parameters
        ----------
        run_id : str
            The run.
        """
        return pd.read_sql_query(
            "SELECT * FROM rings WHERE run_id = ? ORDER BY rank", self.conn, params=(run_id,)
        )

    def ring(self, run_id: str, ring_id: str) -> dict[str, Any]:
        """One ring of a run, its ``extra`` decoded; NotFound when the run has no such ring.

        Parameters
        ----------
        run_id : str
            The run.
        ring_id : str
        """
        row = self.conn.execute(
            "SELECT * FROM rings WHERE run_id = ? AND ring_id = ?", (run_id, ring_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"ring {ring_id!r} not found in run {run_id!r}")
        out = dict(row)
        out["extra"] = json.loads(out.pop("extra_json"))
        return out

    def members(self, run_id: str, ring_id: str | None = None) -> pd.DataFrame:
        """A run's ring members, by ring then score (best first).

        Parameters
        ----------
        run_id : str
            The run.
        ring_id : str, optional
            Only this ring's members.
        """
        sql = "SELECT * FROM members WHERE run_id = ?"
        args: tuple = (run_id,)
        if ring_id is not None:
            sql += " AND ring_id = ?"
            args += (ring_id,)
        return pd.read_sql_query(sql + " ORDER BY ring_id, score DESC, entity_type, entity_id", self.conn, params=args)

    def entity_scores(self, run_id: str) -> pd.DataFrame:
        """A run's entity scores, best first.

        Parameters
        ----------
        run_id : str
            The run.
        """
        return pd.read_sql_query(
            "SELECT * FROM entity_scores WHERE run_id = ? ORDER BY score DESC", self.conn, params=(run_id,)
        )

    def alerts(self, run_id: str) -> pd.DataFrame:
        """A run's alerts (a weekly run's; empty for others).

        Parameters
        ----------
        run_id : str
            The run.
        """
        return pd.read_sql_query("SELECT * FROM alerts WHERE run_id = ?", self.conn, params=(run_id,))

    def rings_of_entity(self, run_id: str, entity_id: str) -> pd.DataFrame:
        """The member rows of one entity in a run: the rings it belongs to.

        Parameters
        ----------
        run_id : str
            The run.
        entity_id : str
        """
        return pd.read_sql_query(
            "SELECT * FROM members WHERE run_id = ? AND entity_id = ?", self.conn, params=(run_id, entity_id)
        )
