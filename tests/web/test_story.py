"""The ring page reads as a story: members' sentences with numbers and no id, one explained score scale."""

from __future__ import annotations

import html
import re

import pytest

from casework.runs import RunStore
from export.texts import SCORE_HELP
from tests.web.conftest import RING_ID, RUN_ID


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
