"""The claims catalogue in ``HOME/shabaka.sqlite`` and the ingest lock.

Tables (prefixed so they sit beside the run store's): ``claim_batches`` (one row per
loaded file, with its SHA-256 and its folder's manifest digest), ``claim_parts`` (the
Parquet part of each batch and service month, with its dates, rows and SHA-256; see
:mod:`ingest.parts`), ``claim_keys`` (the (claim_id, line_no) of batches of the former
one-file layout, until the next ingest rewrites them; the duplicate check now uses each
batch's key file), ``claim_loads`` (the reconciliation of every
ingest of a file, read = loaded + quarantined enforced by a CHECK), ``quarantine``
(rejected rows with their raw values) and ``providers``.

A batch exists exactly when its ``claim_batches`` row is committed: folders and Parquet
files without one are debris of an interrupted load and are deleted by :func:`remove_orphans`,
which runs only under the ingest lock so it never races a load in progress.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import time
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from ground.errors import Locked
from ground.files import open_private, private_dir
from ground.sqlite import DB_NAME

__all__ = ["SCHEMA", "DB_NAME", "CLAIMS_DIR", "init_schema", "ingest_lock", "clean_if_idle", "remove_orphans"]


CLAIMS_DIR = "claims"
_LOCK_NAME = ".ingest.lock"

SCHEMA = """
CREATE TABLE IF NOT EXISTS claim_batches (
    batch_id          TEXT PRIMARY KEY,
    source_name       TEXT NOT NULL,
    source_format     TEXT NOT NULL,
    sha256            TEXT NOT NULL UNIQUE,   -- of the source file
    parquet_name      TEXT NOT NULL,
    parquet_sha256    TEXT NOT NULL,
    rows              INTEGER NOT NULL,
    loaded_at         TEXT NOT NULL,
    min_service_date  TEXT,
    max_service_date  TEXT
);
CREATE TABLE IF NOT EXISTS claim_keys (
    claim_id  TEXT NOT NULL,
    line_no   INTEGER NOT NULL,
    batch_id  TEXT NOT NULL REFERENCES claim_batches(batch_id),
    PRIMARY KEY (claim_id, line_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claim_parts (
    batch_id          TEXT NOT NULL REFERENCES claim_batches(batch_id),
    part_name         TEXT NOT NULL,          -- relative to HOME/claims: <batch_id>/<YYYY-MM>.parquet
    month             TEXT NOT NULL,
    rows              INTEGER NOT NULL,
    min_service_date  TEXT NOT NULL,
    max_service_date  TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    PRIMARY KEY (batch_id, part_name)
);
CREATE INDEX IF NOT EXISTS claim_parts_dates ON claim_parts(max_service_date, min_service_date);
CREATE TABLE IF NOT EXISTS claim_loads (
    load_id        INTEGER PRIMARY KEY,
    source_name    TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    source_format  TEXT NOT NULL,
    batch_id       TEXT,
    status         TEXT NOT NULL,            -- loaded | already_loaded
    read           INTEGER NOT NULL,
    loaded         INTEGER NOT NULL,
    quarantined    INTEGER NOT NULL,
    by_rule_json   TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT NOT NULL,
    CHECK (read = loaded + quarantined)
);
CREATE TABLE IF NOT EXISTS quarantine (
    id              INTEGER PRIMARY KEY,
    load_id         INTEGER NOT NULL REFERENCES claim_loads(load_id),
    dataset         TEXT NOT NULL,           -- claims | providers
    source_name     TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    line            INTEGER,
    rule            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    message         TEXT NOT NULL,
    raw_json        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_reason ON quarantine(reason);
CREATE INDEX IF NOT EXISTS quarantine_source ON quarantine(source_name);
CREATE TABLE IF NOT EXISTS providers (
    provider_id    TEXT PRIMARY KEY,
    name           TEXT,
    provider_type  TEXT NOT NULL,
    region         TEXT,
    city           TEXT,
    latitude       REAL,
    longitude      REAL,
    source_name    TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    loaded_at      TEXT NOT NULL
);
"""


def init_schema(conn: sqlite3.Connection) -> None:
    """Create the catalogue tables when absent.

    Parameters
    ----------
    conn : sqlite3.Connection
        A connection to ``HOME/shabaka.sqlite``.
    """
    conn.executescript(SCHEMA)
    conn.commit()


@contextmanager
def ingest_lock(claims_dir: Path, *, timeout: float = 600.0) -> Iterator[None]:
    """Hold the exclusive ingest lock (one writer of claims at a time).

    Parameters
    ----------
    claims_dir : Path
        ``HOME/claims``; the lock file lives there.
    timeout : float
        Seconds to wait for it.

    Raises
    ------
    Locked
        Another process kept the lock for ``timeout`` seconds.
    """
    private_dir(claims_dir)
    handle = open_private(claims_dir / _LOCK_NAME, "ab+")
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Locked(f"{claims_dir}: another ingest has held the lock for {timeout:.0f} s") from None
                time.sleep(0.2)
        yield
    finally:
        handle.close()


def clean_if_idle(conn: sqlite3.Connection, claims_dir: Path) -> list[str]:
    """Remove orphans (see :func:`remove_orphans`) if no load holds the lock; else do nothing.

    Parameters
    ----------
    conn : sqlite3.Connection
    claims_dir : Path
    """
    private_dir(claims_dir)
    with open_private(claims_dir / _LOCK_NAME, "ab+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []
        return remove_orphans(conn, claims_dir)


def remove_orphans(conn: sqlite3.Connection, claims_dir: Path) -> list[str]:
    """Delete temporary files and folders, and batch folders or Parquet files with no committed batch.

    Call under the lock. Returns the names removed.

    Parameters
    ----------
    conn : sqlite3.Connection
    claims_dir : Path
    """
    committed = {row[0] for row in conn.execute("SELECT parquet_name FROM claim_batches")}
    removed = []
    for path in claims_dir.iterdir():
        if path.name == _LOCK_NAME:
            continue
        if path.name.endswith(".tmp") or (path.name not in committed and (path.is_dir() or path.suffix == ".parquet")):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed.append(path.name)
    return removed
