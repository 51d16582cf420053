"""The ring page's geography (map, flows, distance against peers) and its week-over-week panel."""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import current_app

from casework.ringdiff import previous_run_id, ring_diff
from casework.ringmap import (distance_comparison, distance_sentence, patient_pairs, provider_places, region_counts,
                              region_flows)
from export.sentences import role_label
from ground.errors import NotFound
from web.context import claims_store, runs, show_id
from web.region_map import OUTLINES_FILE, describe, load_outlines, map_svg, provider_legend

__all__ = ["ring_geography", "week_over_week", "PEER_COLUMNS"]

#: What the peers' distances are measured on.
PEER_COLUMNS = ["provider_id", "provider_type", "provider_region", "beneficiary_id", "beneficiary_region"]


def ring_geography(run: dict[str, Any], members: pd.DataFrame, claims: pd.DataFrame) -> dict[str, Any]:
    """The map (inline SVG), its figures, and the distance sentence of one ring.

    The peers' patient counts per provider and home region are read once per run and
    provider type (one column-pruned scan of the window) and cached with the ring claims.

    Parameters
    ----------
    run : dict
        The run (run_id, window_from, window_to).
    members : DataFrame
        The ring's members.
    claims : DataFrame
        The ring's claim lines.
    """
    ring_providers = set(members.loc[members["entity_type"].isin(["PROVIDER", "DOCTOR"]), "entity_id"].astype(str))
    providers = claims_store().providers()
    own = claims[claims["provider_id"].astype(str).isin(ring_providers)] if len(claims) else claims
    places = provider_places(own, providers)
    counts, flows = region_counts(claims, places), region_flows(claims)
    types = tuple(sorted(set(own["provider_type"].dropna().astype(str)))) if len(own) else ()
    comparison = distance_comparison(claims, _peer_pairs(run, types), ring_providers, providers)
    outlines = load_outlines()
    return {"svg": map_svg(counts, flows, places, outlines=outlines), "rows": describe(counts, flows),
            "sentence": distance_sentence(comparison), "comparison": comparison, "outlined": bool(outlines),
            "outlines_file": OUTLINES_FILE.name, "types": provider_legend(places)}


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


def _peer_pairs(run: dict[str, Any], types: tuple[str, ...]) -> pd.DataFrame:
    """:func:`casework.ringmap.patient_pairs` of the window's lines billed by providers of ``types``, cached."""
    if not types:
        return patient_pairs(pd.DataFrame(columns=PEER_COLUMNS))
    store = claims_store()
    cache = current_app.extensions["shabaka_ring_cache"]
    key = ("peer-pairs", run["run_id"], types, tuple(store.batches()["batch_id"].astype(str)))
    hit = cache.get(key)
    if hit is not None:
        return hit
    lines = store.claims(run.get("window_from"), run.get("window_to"), columns=PEER_COLUMNS,
                         any_of={"provider_type": list(types)})
    pairs = patient_pairs(lines)
    cache.put(key, pairs)
    return pairs
