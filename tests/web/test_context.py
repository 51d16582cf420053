"""Per-request stores: a page reading runs, cases, users and the audit log opens HOME/shabaka.sqlite once."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import pytest

import casework.store
from tests.web.conftest import RING_ID, RUN_ID


def test_a_ring_page_opens_the_casework_database_once(as_role, monkeypatch):
    client = as_role("investigator")
    client.post(f"/cases/{RING_ID}/open", data={"run": RUN_ID})
    opened = []
    real_connect = casework.store.connect
    monkeypatch.setattr(casework.store, "connect", lambda path, **kw: opened.append(path) or real_connect(path, **kw))
    page = client.get(f"/rings/{RING_ID}")
    assert page.status_code == 200
    assert len(opened) == 1 and opened[0].name == "shabaka.sqlite"


def _count_home_connections(monkeypatch) -> list[str]:
    """Every SQLite connection opened from now on to a file named shabaka.sqlite."""
    opened: list[str] = []
    real_connect = sqlite3.connect

    def counting(database, *args, **kwargs):
        if "shabaka.sqlite" in str(database):
            opened.append(str(database))
        return real_connect(database, *args, **kwargs)
    monkeypatch.setattr(sqlite3, "connect", counting)
    return opened


def test_the_bundle_button_uses_the_requests_one_connection(as_role, monkeypatch):
    """Runs, the audit entries of the export and of the view, and the claims catalogue: one connection."""
    client = as_role("investigator")
    opened = _count_home_connections(monkeypatch)
    response = client.post(f"/rings/{RING_ID}/bundle", data={"run": RUN_ID})
    assert response.status_code == 200, response.data[:300]
    assert len(opened) == 1
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        assert "data/audit-entry.json" in bundle.namelist()


def test_a_ring_page_reads_runs_and_claims_on_one_connection(as_role, monkeypatch):
    client = as_role("investigator")
    opened = _count_home_connections(monkeypatch)
    assert client.get(f"/rings/{RING_ID}?run={RUN_ID}").status_code == 200
    assert len(opened) == 1


def test_the_requests_connection_is_closed_on_teardown(as_role, monkeypatch):
    client = as_role("investigator")
    connections = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **kw: connections.append(real_connect(*a, **kw))
                        or connections[-1])
    assert client.post(f"/rings/{RING_ID}/bundle", data={"run": RUN_ID}).status_code == 200
    assert connections
    for conn in connections:
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")
