"""ground.sqlite: WAL set once per database file, not by every connection."""

from __future__ import annotations

import sqlite3

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
