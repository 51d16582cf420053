"""A ring page is read from the run's materialised ring pages: no claim is read, every read is capped."""

from __future__ import annotations

import pytest

from casework.ringpages import pages_path
from ingest.store import ClaimsStore
from tests.web.conftest import RING_ID, RUN_ID


@pytest.fixture
def no_claims(monkeypatch):
    """Any read of the claims store fails the request."""
    def refuse(*args, **kwargs):
        raise AssertionError("a ring-page request read the claims store")

    monkeypatch.setattr(ClaimsStore, "claims", refuse)


def test_ring_page_graph_and_lines_never_read_the_claims(as_role, no_claims):
    client = as_role("analyst")
    page = client.get(f"/rings/{RING_ID}")
    assert page.status_code == 200
    ring = client.get(f"/api/rings/{RING_ID}").get_json()
    lines = client.get(f"/api/rings/{RING_ID}/claims?size=7&page=2").get_json()
    assert ring["elements"] and ring["timeline"] and ring["geography"]["flows"]
    assert lines["size"] == 7 and lines["page"] == 2 and 0 < len(lines["claims"]) <= 7
    assert all(isinstance(c["at_risk"], bool) for c in lines["claims"])
    assert all(not str(c["beneficiary_id"]).startswith("BEN-R") for c in lines["claims"]), "analysts see pseudonyms"


def test_ring_page_header_timeline_and_lines_panel_show_one_amount_at_risk(as_role):
    client = as_role("investigator")
    ring = client.get(f"/api/rings/{RING_ID}").get_json()
    header = ring["ring"]["amount_at_risk"]
    assert ring["totals"]["amount_at_risk"] == pytest.approx(header)
    assert sum(d["amount_at_risk"] for d in ring["timeline"]) == pytest.approx(header)
    html = client.get(f"/rings/{RING_ID}").get_data(as_text=True)
    assert html.count(f"{header:,.2f} MAD") >= 2  # the timeline's total and the claim lines panel's
    assert f"{ring['totals']['n_at_risk']} at risk" in html


def test_line_pages_are_capped_by_the_parameter_checks(as_role):
    client = as_role("investigator")
    for size in (0, 501, -1):
        response = client.get(f"/api/rings/{RING_ID}/claims?size={size}")
        assert response.status_code == 400 and "size" in response.get_data(as_text=True)
    assert client.get("/api/rings/RING-NOPE/claims").status_code == 404


def test_a_run_without_ring_pages_answers_404_saying_so(as_role, filled):
    pages_path(filled.home_path, RUN_ID).unlink()
    response = as_role("investigator").get(f"/rings/{RING_ID}")
    assert response.status_code == 404 and "no ring pages" in response.get_data(as_text=True)
