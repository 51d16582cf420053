"""One way to open Shabaka's SQLite files: WAL, foreign keys, a busy timeout.

WAL lets the viewer read while a weekly run writes. Like :mod:`ground.errors`,
this module imports nothing from the project, so every package may use it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

from ground.files import create_private, private_dir

__all__ = ["connect", "transaction", "DB_NAME"]

#: The SQLite file of HOME holding the claims catalogue, runs, findings, cases, users and audit.
DB_NAME = "shabaka.sqlite"


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (creating folders as needed) a SQLite database in WAL mode.

    A database created here is created 0600 (its folders 0700); SQLite gives its
    ``-wal`` and ``-shm`` files the database's mode.

    Parameters
    ----------
    path : path
        The database file.
    readonly : bool
        Open with ``mode=ro``; the file must exist.

    Returns
    -------
    sqlite3.Connection
        Rows come back as :class:`sqlite3.Row`; autocommit is off, use
        :func:`transaction`.
    """
    path = Path(path)
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
    else:
        private_dir(path.parent)
        create_private(path)
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        _wal_once(conn, path)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


#: (device, inode) of the database files this process has put in WAL mode.
_WAL_FILES: set[tuple[int, int]] = set()


def _wal_once(conn: sqlite3.Connection, path: Path) -> None:
    """Put the database in WAL mode, once per file and process: WAL is a property of the file,
    so later connections find it set. The file is identified by ``stat`` (device, inode) and
    never opened here: closing a descriptor of a SQLite file would drop the process's locks on
    it. An empty file (just created, maybe on a reused inode) always gets the pragma."""
    stat = os.stat(path)
    key = (stat.st_dev, stat.st_ino)
    if stat.st_size > 0 and key in _WAL_FILES:
        return
    conn.execute("PRAGMA journal_mode=WAL")
    _WAL_FILES.add(key)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block in one ``BEGIN IMMEDIATE`` transaction: all of it or nothing.

    Parameters
    ----------
    conn : sqlite3.Connection
        From :func:`connect`; committed when the block ends, rolled back when it raises.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()
