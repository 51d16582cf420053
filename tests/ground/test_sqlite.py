"""ground.sqlite: WAL set once per database file and process, not by every connection."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

import ground.sqlite
from ground.sqlite import connect


@pytest.fixture
def statements(monkeypatch):
    """Every SQL statement run through connections opened by ground.sqlite.connect from now on."""
    seen: list[str] = []
    real = sqlite3.connect

    def traced(*args, **kwargs):
        conn = real(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn
    monkeypatch.setattr(ground.sqlite.sqlite3, "connect", traced)
    return seen


def _journal_pragmas(statements: list[str]) -> list[str]:
    return [s for s in statements if "journal_mode" in s.lower()]


def test_a_new_database_is_put_in_wal_mode_once(tmp_path, statements):
    path = tmp_path / "home" / "x.sqlite"
    with connect(path) as conn:
        conn.execute("CREATE TABLE t (a)")
    assert _journal_pragmas(statements) == ["PRAGMA journal_mode=WAL"]
    statements.clear()
    for _ in range(3):
        conn = connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
    assert _journal_pragmas(statements) == ["PRAGMA journal_mode"] * 3  # only the test's own reads


def test_a_database_made_elsewhere_in_rollback_mode_is_switched_to_wal(tmp_path, statements):
    path = tmp_path / "y.sqlite"
    made = ground.sqlite.sqlite3.connect(path)
    made.execute("CREATE TABLE t (a)")
    made.commit()
    made.close()
    statements.clear()
    conn = connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert "PRAGMA journal_mode=WAL" in statements


def test_connecting_never_drops_the_locks_other_connections_hold(tmp_path):
    """A descriptor of the database closed in this process would release every POSIX lock the process
    holds on it; another process would then think itself the last one, remove the WAL on closing, and
    this process's open connection would fail ("disk I/O error")."""
    path = tmp_path / "z.sqlite"
    holder = connect(path)
    holder.execute("CREATE TABLE t (a)")
    holder.commit()
    for _ in range(3):
        connect(path)
    other = subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                            " c.execute('INSERT INTO t VALUES (1)'); c.commit(); c.close()", str(path)],
                           capture_output=True, text=True)
    assert other.returncode == 0, other.stderr
    assert holder.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1
    assert path.with_name("z.sqlite-wal").exists()  # the holder's connection kept the WAL in place
