"""The audit log as the viewer writes it and admins read it."""

from __future__ import annotations

from casework.audit import AuditLog
from tests.web.conftest import RING_ID


def test_viewer_records_page_views_and_actions(as_role, filled):
    client = as_role("investigator")
    client.get(f"/rings/{RING_ID}")
    client.post(f"/cases/{RING_ID}/open")
    with AuditLog(filled.home_path) as log:
        entries = log.entries(actor="investigator")
        assert log.verify().ok
    actions = [e["action"] for e in entries]
    assert actions[:3] == ["case_open", "view_ring", "login"]
    assert entries[1]["params"]["ring_id"] == RING_ID


def test_admin_reads_the_log_in_the_viewer(as_role):
    page = as_role("admin").get("/admin/audit").get_data(as_text=True)
    assert "Hash chain intact" in page and "view_audit" in page
