"""What a run writes with each ring page for the viewer (the map drawn, the graph as drawn), and how the
page shows the geography and the week-over-week panel read back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from markupsafe import Markup

import networkx as nx

from casework.ringmap import distance_sentence
from export.ringstory import ring_story, story_frame
from export.sentences import role_label
from graph.build import node_id
from web.context import show_id
from web.data import ring_elements
from web.region_map import OUTLINES_FILE, describe, load_outlines, map_svg, provider_legend

__all__ = ["page_story", "ring_geography", "week_over_week"]


def page_story(claims: pd.DataFrame, providers: pd.DataFrame | None) -> Callable[..., dict[str, Any]]:
    """The story maker a run passes to :func:`casework.ringpages.write_ring_pages`: the sentences and
    map figures of :func:`export.ringstory.ring_story`, the map drawn with them (``geography``) and the
    ring's graph as the page draws it (``elements``, stored ids, each member's sentence as its
    evidence), so a page only reads them.

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

    def told(ring: dict[str, Any], members: pd.DataFrame, lines: pd.DataFrame,
             graph: nx.Graph | None = None) -> dict[str, Any]:
        story = tell(ring, members, lines)
        story["geography"] = _drawn(story, outlines)
        if graph is not None:
            said = {node_id(*key.split(":", 1)): m["sentence"] for key, m in story["members"].items()
                    if m.get("sentence")}
            story["elements"] = ring_elements(graph, _stored, said)
        return story

    return told


def ring_geography(story: dict[str, Any]) -> dict[str, Any]:
    """The map (inline SVG), its figures, and the distance sentence of one ring, as drawn when the run was
    stored (:func:`page_story`); empty for a ring page written without a story.

    Parameters
    ----------
    story : dict
        The ring page's ``story`` (its ``geography`` read).
    """
    drawn = story.get("geography")
    if not drawn:
        return {"svg": "", "rows": [], "sentence": "", "comparison": {}, "outlined": False,
                "outlines_file": OUTLINES_FILE.name, "types": []}
    return {**drawn, "svg": Markup(drawn["svg"])}


def _stored(entity_type: str, entity_id: str) -> str:
    return entity_id


def _drawn(story: dict[str, Any], outlines: dict[str, str]) -> dict[str, Any]:
    counts, flows, places = (story_frame(story[k]) for k in ("counts", "flows", "places"))
    return {"svg": str(map_svg(counts, flows, places, outlines=outlines)), "rows": describe(counts, flows),
            "sentence": distance_sentence(story["comparison"]), "comparison": story["comparison"],
            "outlined": bool(outlines), "outlines_file": OUTLINES_FILE.name, "types": provider_legend(places)}


def week_over_week(diff: dict[str, Any]) -> dict[str, Any]:
    """The week-over-week panel of a ring (:func:`casework.ringdiff.ring_diff`, materialised with the run's
    ring pages), members shown as this user may see them.

    Parameters
    ----------
    diff : dict
        The ring page's ``diff``.
    """
    out = dict(diff)
    for side in ("new_members", "removed_members"):
        out[side] = [{**m, "shown": show_id(m["entity_type"], m["entity_id"]), "label": role_label(m["role"])}
                     for m in diff.get(side) or []]
    return out
