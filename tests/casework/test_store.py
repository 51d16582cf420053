"""Casework: the stores opened through one Casework share its connection and leave it open."""

from __future__ import annotations

import sqlite3

import pytest

from casework.audit import AuditLog
from casework.cases import CaseStore
from casework.runs import RunStore
from casework.store import Casework
from casework.users import UserStore


def test_stores_opened_through_casework_share_one_connection(settings):
    with Casework(settings.home_path) as work:
        stores = [work.store(kind) for kind in (RunStore, CaseStore, UserStore, AuditLog)]
        assert {id(s.conn) for s in stores} == {id(work.conn)}
        assert work.store(CaseStore) is stores[1]
        stores[1].open_case("RING-1", actor="a")
        stores[1].close()
        assert work.store(CaseStore).case("RING-1")["status"] == "open"
    with pytest.raises(sqlite3.ProgrammingError):
        work.conn.execute("SELECT 1")


def test_a_store_opened_alone_closes_its_own_connection(settings):
    store = CaseStore(settings.home_path)
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.conn.execute("SELECT 1")
