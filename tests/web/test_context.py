"""Per-request stores: a page reading runs, cases, users and the audit log opens HOME/shabaka.sqlite once."""

from __future__ import annotations

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
