"""What a run leaves for the a-priori control, in ``HOME/shabaka.sqlite``: its watchlist
candidates, its listed watchlist (with since when each entry is listed) and the lookup
index that scores incoming dossiers.

A run's rows are written in one transaction, before the run itself is stored, so a run
that readers can see always has them. The index holds keyed hashes of identifiers and
beneficiaries, never their values, and the fingerprint of the key that made them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from casework.store import HomeStore
from ground.errors import NotFound
from ground.sqlite import transaction

__all__ = ["AprioriStore", "CANDIDATE_FIELDS", "LISTED_FIELDS"]

CANDIDATE_FIELDS = ["provider_id", "provider_type", "act_family", "ring_id", "ring_rank", "scenario",
                    "amount_at_risk", "n_dossiers", "reason"]
LISTED_FIELDS = CANDIDATE_FIELDS[:-1] + ["since", "since_run", "reason"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watchlist_candidates (
    run_id          TEXT NOT NULL,
    provider_id     TEXT NOT NULL,
    provider_type   TEXT NOT NULL,
    act_family      TEXT NOT NULL,
    ring_id         TEXT NOT NULL,
    ring_rank       INTEGER NOT NULL,
    scenario        TEXT NOT NULL,
    amount_at_risk  REAL NOT NULL,
    n_dossiers      INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    since           TEXT NOT NULL DEFAULT '',   -- when the (provider, family) was first listed, if it is
    since_run       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, provider_id, act_family, ring_id)
);
CREATE TABLE IF NOT EXISTS watchlist (
    run_id          TEXT NOT NULL,
    provider_id     TEXT NOT NULL,
    provider_type   TEXT NOT NULL,
    act_family      TEXT NOT NULL,
    ring_id         TEXT NOT NULL,
    ring_rank       INTEGER NOT NULL,
    scenario        TEXT NOT NULL,
    amount_at_risk  REAL NOT NULL,
    n_dossiers      INTEGER NOT NULL,
    since           TEXT NOT NULL,
    since_run       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    PRIMARY KEY (run_id, provider_id, act_family)
);
CREATE TABLE IF NOT EXISTS risk_index (
    run_id  TEXT NOT NULL,
    kind    TEXT NOT NULL,                  -- watch, provider, doctor, identifier, beneficiary, ...
    key     TEXT NOT NULL,                  -- an id, or a keyed hash of a personal identifier
    code    TEXT NOT NULL,                  -- the reason code (or a limit, a date)
    text    TEXT NOT NULL,
    PRIMARY KEY (run_id, kind, key)
);
CREATE TABLE IF NOT EXISTS risk_index_runs (
    run_id  TEXT PRIMARY KEY,
    key_id  TEXT NOT NULL,                  -- fingerprint of the hashing key
    stats   TEXT NOT NULL DEFAULT ''
);
"""


class AprioriStore(HomeStore):
    """Watchlists and risk indexes of runs."""

    SCHEMA = _SCHEMA

    def save(self, run_id: str, *, candidates: pd.DataFrame, listed: pd.DataFrame,
             index_rows: Sequence[tuple[str, str, str, str]], key_id: str) -> None:
        """Write (or replace) one run's candidates, listed watchlist and index, in one transaction.

        Parameters
        ----------
        run_id : str
        candidates, listed : DataFrame
            The run's watchlist candidates and what it listed.
        index_rows : sequence of (str, str, str, str)
            The risk index's rows.
        key_id : str
            Fingerprint of the key that hashed the index.
        """
        since = {(str(r.provider_id), str(r.act_family)): (str(r.since), str(r.since_run))
                 for r in listed.itertuples(index=False)}
        with transaction(self.conn) as c:
            for table in ("watchlist_candidates", "watchlist", "risk_index", "risk_index_runs"):
                c.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            c.executemany(
                "INSERT INTO watchlist_candidates VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(run_id, *_values(r, CANDIDATE_FIELDS),
                  *since.get((str(r.provider_id), str(r.act_family)), ("", "")))
                 for r in candidates.itertuples(index=False)])
            c.executemany(f"INSERT INTO watchlist ({', '.join(['run_id', *LISTED_FIELDS])}) "
                          f"VALUES ({', '.join('?' * (len(LISTED_FIELDS) + 1))})",
                          [(run_id, *_values(r, LISTED_FIELDS)) for r in listed.itertuples(index=False)])
            c.executemany("INSERT INTO risk_index VALUES (?,?,?,?,?)", [(run_id, *row) for row in index_rows])
            c.execute("INSERT INTO risk_index_runs VALUES (?,?,?)", (run_id, key_id, ""))

    def has_run(self, run_id: str) -> bool:
        """True when ``run_id`` left its watchlist and index here.

        Parameters
        ----------
        run_id : str
        """
        return self.conn.execute("SELECT 1 FROM risk_index_runs WHERE run_id = ?", (run_id,)).fetchone() is not None

    def listed(self, run_id: str) -> pd.DataFrame:
        """The watchlist as the run listed it (``LISTED_FIELDS``), by ring rank.

        Parameters
        ----------
        run_id : str
        """
        return pd.read_sql_query(
            f"SELECT {', '.join(LISTED_FIELDS)} FROM watchlist WHERE run_id = ?"
            " ORDER BY ring_rank, provider_id, act_family", self.conn, params=(run_id,))

    def candidates(self, run_id: str) -> pd.DataFrame:
        """Every candidate of the run with the ``since`` of its (provider, family) when listed.

        Parameters
        ----------
        run_id : str
        """
        return pd.read_sql_query(
            f"SELECT {', '.join(CANDIDATE_FIELDS)}, since, since_run FROM watchlist_candidates WHERE run_id = ?"
            " ORDER BY ring_rank, provider_id, act_family", self.conn, params=(run_id,))

    def index_rows(self, run_id: str) -> tuple[str, list[tuple[str, str, str, str]]]:
        """(key fingerprint, index rows) of a run; NotFound when the run left none.

        Parameters
        ----------
        run_id : str
        """
        meta = self.conn.execute("SELECT key_id FROM risk_index_runs WHERE run_id = ?", (run_id,)).fetchone()
        if meta is None:
            raise NotFound(f"run {run_id!r} has no risk index: it was stored before a-priori scoring existed; "
                           "run 'shabaka run' or 'shabaka detect' again")
        rows = self.conn.execute("SELECT kind, key, code, text FROM risk_index WHERE run_id = ?", (run_id,))
        return str(meta["key_id"]), [(r[0], r[1], r[2], r[3]) for r in rows]


def _values(row: Any, fields: list[str]) -> list[Any]:
    out = []
    for name in fields:
        value = getattr(row, name)
        if name in ("ring_rank", "n_dossiers"):
            value = int(value)
        elif name == "amount_at_risk":
            value = float(value)
        else:
            value = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
        out.append(value)
    return out
