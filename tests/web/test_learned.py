"""The ring page shows a learned score with its reasons when the run was ranked by a model."""

from __future__ import annotations

from casework.ringpages import build_ring_pages
from web.story import page_story
from casework.runs import RunStore
from tests.web.conftest import RING_ID, RUN_ID

LEARNED_RUN = "run-2025-W12-learned"


def _save_learned_run(settings) -> None:
    with RunStore(settings.home_path) as runs:
        rings = runs.rings(RUN_ID).drop(columns=["run_id", "extra_json"])
        members = runs.members(RUN_ID).drop(columns=["run_id"])
        scores = runs.entity_scores(RUN_ID).drop(columns=["run_id"])
        rings["learned_score"] = [0.91, 0.12][: len(rings)]
        rings["learned_reasons"] = "its most suspect provider: 62% of its lines are for Tadamon patients (+0.40)"
        rings["unsupervised_rank"] = rings["rank"]
        rings["model_version"] = "M-0123456789ab"
        runs.save_run(LEARNED_RUN, kind="weekly", version="test", params={"model": "M-0123456789ab"}, batches=[],
                      rings=rings, members=members, entity_scores=scores, week="2025-W12",
                      window=("2025-01-01", "2025-12-31"))
    build_ring_pages(settings.home_path, LEARNED_RUN, story=page_story)


def test_ring_page_shows_the_learned_score_its_model_and_its_reasons(filled, as_role):
    _save_learned_run(filled)
    page = as_role("investigator").get(f"/rings/{RING_ID}?run={LEARNED_RUN}").get_data(as_text=True)
    assert "Learned score" in page and "0.91" in page and "M-0123456789ab" in page
    assert "62% of its lines are for Tadamon patients (+0.40)" in page


def test_ring_page_of_an_unsupervised_run_shows_no_learned_score(filled, as_role):
    page = as_role("investigator").get(f"/rings/{RING_ID}?run={RUN_ID}").get_data(as_text=True)
    assert "Learned score" not in page
