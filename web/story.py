"""The ring page's geography (map, flows, distance against peers) and its week-over-week panel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from markupsafe import Markup

from casework.ringdiff import previous_run_id, ring_diff
from casework.ringmap import distance_sentence
from export.ringstory import ring_story, story_frame
from export.sentences import role_label
from ground.errors import NotFound
from web.context import runs, show_id
from web.region_map import OUTLINES_FILE, describe, load_outlines, map_svg, provider_legend

__all__ = ["page_story", "ring_geography", "week_over_week"]


def page_story(claims: pd.DataFrame, providers: pd.DataFrame | None) -> Callable[[dict, pd.DataFrame, pd.DataFrame],
                                                                                  dict[str, Any]]:
    """The story maker a run passes to :func:`casework.ringpages.write_ring_pages`: the sentences and
    map figures of :func:`export.ringstory.ring_story`, and the map drawn with them, so a page only reads it.

    The map is drawn with the region outlines installed when the run is stored.

    Parameters
    ----------
    claims : DataFrame
        The run's whole claims window.
    providers : DataFrame, optional
        The providers table.
    """
    tell = ring_story(claims, providers)
    outlines = load_outlines()

    def told(ring: dict[str, Any], members: pd.DataFrame, lines: pd.DataFrame) -> dict[str, Any]:
        story = tell(ring, members, lines)
        story["geography"] = _drawn(story, outlines)
        return story

    return told


def ring_geography(story: dict[str, Any]) -> dict[str, Any]:
    """The map (inline SVG), its figures, and the distance sentence of one ring, from its stored story.

    Drawn when the run was stored (:func:`page_story`); drawn here only for a story written without it.

    Parameters
    ----------
    story : dict
        The ring page's ``story``.
    """
    if not story:
        return {"svg": "", "rows": [], "sentence": "", "comparison": {}, "outlined": False,
                "outlines_file": OUTLINES_FILE.name, "types": []}
    drawn = story.get("geography") or _drawn(story, load_outlines())
    return {**drawn, "svg": Markup(drawn["svg"])}


def _drawn(story: dict[str, Any], outlines: dict[str, str]) -> dict[str, Any]:
    counts, flows, places = (story_frame(story[k]) for k in ("counts", "flows", "places"))
    return {"svg": str(map_svg(counts, flows, places, outlines=outlines)), "rows": describe(counts, flows),
            "sentence": distance_sentence(story["comparison"]), "comparison": story["comparison"],
            "outlined": bool(outlines), "outlines_file": OUTLINES_FILE.name, "types": provider_legend(places)}


def week_over_week(run_id: str, ring: dict[str, Any], members: pd.DataFrame) -> dict[str, Any]:
    """What changed in the ring since the previous run, members shown as this user may see them.

    Parameters
    ----------
    run_id : str
        This run.
    ring : dict
        The ring's row.
    members : DataFrame
        Its members.
    """
    store = runs()
    previous_run = previous_run_id(store.runs(), run_id)
    previous, previous_members = None, None
    if previous_run is not None:
        try:
            previous = store.ring(previous_run, ring["ring_id"])
            previous_members = store.members(previous_run, ring["ring_id"])
        except NotFound:
            previous = None
    diff = ring_diff(ring, members, previous, previous_members, store.alerts(run_id), previous_run=previous_run)
    for side in ("new_members", "removed_members"):
        diff[side] = [{**m, "shown": show_id(m["entity_type"], m["entity_id"]), "label": role_label(m["role"])}
                      for m in diff[side]]
    return diff
