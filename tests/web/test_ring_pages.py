"""A ring page is read from the run's materialised ring pages: no claim is read, every read is capped."""

from __future__ import annotations

import sys

import pytest

from casework import ringdiff, ringmap, ringpage_parts
from casework.ringlines import WindowLines, ring_lines
from casework.ringpages import pages_path
from detectors.base import line_flags
from export import ringstory, sentences
from graph.ring import ring_graph
from ingest.store import ClaimsStore
from tests.web.conftest import RING_ID, RUN_ID, second_run
from web import data, region_map, story

#: What a ring page is made of when the run is stored; a view calls none of them.
BUILDERS = (ringdiff.ring_diff, ringdiff.previous_run_id, ringmap.region_counts, ringmap.region_flows,
            ringmap.provider_places, ringmap.distance_comparison, ringmap.distance_sentence,
            ringpage_parts.timeline, ringpage_parts.timeline_svg, ringpage_parts.geography,
            ringpage_parts.graph_to_json, ringpage_parts.graph_from_json, ringpage_parts.ring_changes,
            ringstory.ring_story, sentences.member_sentences, sentences.detector_notes, region_map.map_svg,
            region_map.describe, data.ring_elements, story.page_story, ring_graph, WindowLines, ring_lines, line_flags)


@pytest.fixture
def no_claims(monkeypatch):
    """Any read of the claims store fails the request."""
    def refuse(*args, **kwargs):
        raise AssertionError("a ring-page request read the claims store")

    monkeypatch.setattr(ClaimsStore, "claims", refuse)


def refuse_builders(monkeypatch) -> list[str]:
    """Make every builder of :data:`BUILDERS` fail wherever the project's modules hold it; the names patched."""
    patched = []
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").split(".")[0] not in ("web", "casework", "export", "graph", "detectors"):
            continue
        for name, value in list(vars(module).items()):
            if any(value is b for b in BUILDERS):
                def refuse(*args, _name=f"{module.__name__}.{name}", **kwargs):
                    raise AssertionError(f"a ring-page request computed {_name}")
                monkeypatch.setattr(module, name, refuse)
                patched.append(f"{module.__name__}.{name}")
    return patched


@pytest.mark.parametrize("role", ["analyst", "investigator"])
def test_ring_page_and_api_only_read_what_the_run_stored(as_role, filled, monkeypatch, role):
    run2 = second_run(filled.home_path, drop="BEN-R0", add=("BENEFICIARY", "BEN-000", "recruited_patient"),
                      amount=61840.0)
    patched = refuse_builders(monkeypatch)
    monkeypatch.setattr(ClaimsStore, "claims", lambda *a, **k: pytest.fail("a ring-page request read the claims"))
    assert {"casework.ringpages.ring_diff", "web.story.map_svg", "web.story.ring_elements"} <= set(patched)
    client = as_role(role)
    for run in (RUN_ID, run2):
        page = client.get(f"/rings/{RING_ID}?run={run}")
        assert page.status_code == 200, page.get_data(as_text=True)[:2000]
        html = page.get_data(as_text=True)
        assert '<svg class="region-map"' in html and 'id="week-over-week"' in html
        api = client.get(f"/api/rings/{RING_ID}?run={run}")
        assert api.status_code == 200
        body = api.get_json()
        assert body["elements"] and body["members"] and body["geography"]["flows"] and body["timeline"]
        assert client.get(f"/api/rings/{RING_ID}/claims?run={run}").status_code == 200
    assert "New members</span><strong>1</strong>" in html  # run2's panel, read, not computed


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
