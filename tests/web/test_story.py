"""The ring page reads as a story: members' sentences with numbers and no id, one explained score scale."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from casework.runs import RunStore
from export.texts import SCORE_HELP
from tests.web.conftest import RING_ID, RUN_ID, second_run
from web import region_map


def _cells(page: str, css: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", " ", c)) for c in re.findall(rf'<td class="{css}">(.*?)</td>', page, re.S)]


@pytest.mark.parametrize("role", ["analyst", "investigator"])
def test_member_sentences_have_numbers_and_no_member_id(as_role, filled, role):
    page = as_role(role).get(f"/rings/{RING_ID}").get_data(as_text=True)
    with RunStore(filled.home_path) as runs:
        members = runs.members(RUN_ID, RING_ID)
    sentences = _cells(page, "sentence")
    assert len(sentences) == len(members)
    ids = set(members["entity_id"]) | {RING_ID}
    for text in sentences:
        assert not any(i in text for i in ids), text
        assert re.search(r"\d[\d,]* lines? \([\d,]+ MAD\)", text), text


def test_ring_summary_counts_members_by_role(as_role):
    page = as_role("investigator").get(f"/rings/{RING_ID}").get_data(as_text=True)
    lead = html.unescape(re.search(r'<p class="summary-lead">(.*?)</p>', page, re.S).group(1))
    assert lead.startswith("Suspected recruiter funnel: 1 clinic, 1 lab, 1 surgeon, 8 recruited patients, "
                           "1 recruiter phone; 51,840 MAD at risk")
    listing = as_role("investigator").get("/rings").get_data(as_text=True)
    assert "1 clinic, 1 lab, 1 surgeon" in html.unescape(listing)


@pytest.mark.parametrize("path", [f"/rings/{RING_ID}", "/rings", "/entities/PROVIDER:PRV-CLINIC-R"])
def test_every_score_header_explains_the_surprise_scale(as_role, path):
    page = html.unescape(as_role("investigator").get(path).get_data(as_text=True))
    headers = re.findall(r"<th[^>]*>[^<]*Score[^<]*(?:<span[^>]*>\?</span>)?</th>", page)
    labels = re.findall(r'<span class="score-h"[^>]*>Score', page)
    assert headers or labels
    for th in headers:
        assert f'title="{SCORE_HELP}"' in th, th
    assert page.count(f'title="{SCORE_HELP}"') >= len(headers) + len(labels)
    assert "-log10" in SCORE_HELP and "one in 1,000" in SCORE_HELP


def test_ring_api_carries_sentences_and_the_graph_shows_them(as_role):
    body = as_role("analyst").get(f"/api/rings/{RING_ID}").get_json()
    assert body["ring"]["story"].startswith("Suspected recruiter funnel")
    assert all(m["sentence"] for m in body["members"])
    evidence = {e["data"]["evidence"] for e in body["elements"] if e["group"] == "nodes" and e["data"]["role"]}
    assert evidence <= {m["sentence"] for m in body["members"]}


def test_ring_page_maps_the_twelve_regions_with_flows_and_a_distance_sentence(as_role):
    page = as_role("investigator").get(f"/rings/{RING_ID}").get_data(as_text=True)
    svg = re.search(r'<svg class="region-map".*?</svg>', page, re.S).group(0)
    assert len(set(re.findall(r'class="region" data-region="(\d\d)"', svg))) == 12
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    assert re.search(r'<rect class="provider"', svg)
    sentence = html.unescape(re.search(r'<p class="distance">(.*?)</p>', page, re.S).group(1))
    assert re.match(r"The ring's [\d,]+ patients travelled a median [\d,]+ km to its \d+ providers?", sentence)


@pytest.mark.parametrize("role", ["analyst", "investigator"])
def test_week_over_week_panel_shows_new_and_removed_members_amount_and_alerts(as_role, filled, role):
    run2 = second_run(filled.home_path, drop="BEN-R0", add=("BENEFICIARY", "BEN-000", "recruited_patient"),
                       amount=61840.0)
    page = html.unescape(as_role(role).get(f"/rings/{RING_ID}?run={run2}").get_data(as_text=True))
    panel = re.search(r'<section class="card" id="week-over-week">(.*?)</section>', page, re.S).group(1)
    assert RUN_ID in panel
    assert re.search(r"<span>New members</span><strong>1</strong>", panel)
    assert re.search(r"<span>Removed</span><strong>1</strong>", panel)
    assert "+10,000 MAD" in panel and "was 51,840 MAD" in panel
    assert "<b>grown</b> — 1 new member" in panel
    if role == "analyst":
        assert "BEN-000" not in panel and "BEN-R0" not in panel and "BEN~" in panel
    else:
        assert "BEN-000" in panel and "BEN-R0" in panel
    first = html.unescape(as_role(role).get(f"/rings/{RING_ID}?run={RUN_ID}").get_data(as_text=True))
    assert "This is the first stored run" in first


def test_map_draws_providers_at_one_address_apart():
    places = pd.DataFrame({"provider_id": ["PRV-C", "PRV-L", "PRV-F"], "provider_type": ["CLINIC", "LAB", "CLINIC"],
                           "lat": [33.57, 33.57, 30.42], "lon": [-7.59, -7.59, -9.6], "city": ["Casablanca"] * 2 + ["Agadir"],
                           "region": ["06", "06", "09"], "located": ["coordinates"] * 3})
    counts = pd.DataFrame({"region": ["06"], "name": ["Casablanca-Settat"], "patients": [3], "providers": [2],
                           "amount": [10.0]})
    flows = pd.DataFrame(columns=["from_region", "to_region", "patients", "lines", "amount"])
    svg = str(region_map.map_svg(counts, flows, places, outlines={}))
    corners = [(float(x), float(y)) for x, y in re.findall(r'<rect class="provider" x="([\d.]+)" y="([\d.]+)"', svg)]
    assert len(corners) == 3
    for i, (x1, y1) in enumerate(corners):
        for x2, y2 in corners[i + 1:]:
            assert max(abs(x1 - x2), abs(y1 - y2)) >= 10, "two 10 px provider squares overlap"
