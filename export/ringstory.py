"""What a ring page tells about a ring, written with the page when the run is stored.

:func:`ring_story` is the story maker :func:`casework.ringpages.write_ring_pages` calls:
for each ring, from its lines (the one rule of :mod:`casework.ringlines`) and the run's
window, each member's sentence and detector notes (:mod:`export.sentences`) and the
figures of the regions map with the distance travelled against peers
(:mod:`casework.ringmap`). The viewer only reads them back (:func:`story_frame`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from casework.ringmap import (PeerIndex, ProviderRows, distance_comparison, patient_pairs, provider_places,
                              region_counts, region_flows)
from export.sentences import detector_notes, member_sentences

__all__ = ["ring_story", "story_frame", "PEER_COLUMNS"]

#: What the map's figures (regions, flows, places, distances) read of a ring's lines.
_MAP_COLUMNS = ["beneficiary_id", "beneficiary_region", "provider_id", "provider_type", "provider_region",
                "amount_claimed"]
#: What the peers' distances are measured on.
PEER_COLUMNS = ["provider_id", "provider_type", "provider_region", "beneficiary_id", "beneficiary_region"]


def ring_story(claims: pd.DataFrame, providers: pd.DataFrame | None) -> Callable[[dict, pd.DataFrame, pd.DataFrame],
                                                                                dict[str, Any]]:
    """The story maker of a run: ``tell(ring, members, lines) -> dict`` over this window.

    The peers' patient pairs and places are computed once per run (once per set of provider types
    when a provider's lines name several types).

    Parameters
    ----------
    claims : DataFrame
        The run's whole claims window.
    providers : DataFrame, optional
        The providers table (coordinates).
    """
    pairs: dict[tuple[str, ...], tuple[pd.DataFrame, pd.DataFrame]] = {}
    # each set of types' peers indexed once: a ring then reads its peers' rows, not all of them
    indexes: dict[tuple[str, ...], PeerIndex] = {}
    # A ring's places need its providers' rows only: looked up, not scanned for in the whole table per ring.
    rows = ProviderRows(providers)

    # When every line names its provider's one type, the pairs and places of some types are the window's
    # rows of those types: grouped once per run rather than once per set of types (a national window has many).
    whole: list[tuple[pd.DataFrame, pd.DataFrame] | None] = []

    def window_pairs() -> tuple[pd.DataFrame, pd.DataFrame] | None:
        if not whole:
            one_type = bool(claims["provider_type"].notna().all()) and bool(
                (claims.groupby(claims["provider_id"].astype(str))["provider_type"].nunique() <= 1).all())
            found = patient_pairs(claims[PEER_COLUMNS]) if one_type else None
            whole.append(None if found is None else
                         (found, provider_places(found.drop_duplicates("provider_id"), providers)))
        return whole[0]

    def peers(types: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(patient pairs, provider places) of the window's providers of ``types``."""
        if types not in pairs and types and window_pairs() is not None:
            found, places = (frame[frame["provider_type"].isin(types)].reset_index(drop=True)
                             for frame in window_pairs())
            if len(found):
                pairs[types] = found, places
        if types not in pairs:
            lines = claims.loc[claims["provider_type"].isin(list(types)), PEER_COLUMNS] if types else \
                pd.DataFrame(columns=PEER_COLUMNS)
            found = patient_pairs(lines)
            pairs[types] = found, provider_places(found.drop_duplicates("provider_id"), providers)
        return pairs[types]

    def tell(ring: dict[str, Any], members: pd.DataFrame, lines: pd.DataFrame) -> dict[str, Any]:
        told = {f"{t}:{i}": {"sentence": s, "finding": f} for t, i, s, f in zip(
            members["entity_type"], members["entity_id"], member_sentences(members, lines), detector_notes(members))}
        ring_providers = set(members.loc[members["entity_type"].isin(["PROVIDER", "DOCTOR"]), "entity_id"].astype(str))
        # the map's figures read a few columns: their selections and group-bys copy those, not every column
        lines = lines[[c for c in _MAP_COLUMNS if c in lines]]
        own = lines[lines["provider_id"].astype(str).isin(ring_providers)] if len(lines) else lines
        places = provider_places(own, rows.of(own["provider_id"].dropna()) if len(own) else providers)
        types = tuple(sorted(set(own["provider_type"].dropna().astype(str)))) if len(own) else ()
        peer_pairs, peer_places = peers(types)
        if types not in indexes:
            indexes[types] = PeerIndex(peer_pairs, peer_places)
        comparison = distance_comparison(lines, peer_pairs, ring_providers, providers, peer_places=peer_places,
                                         ring_places=places, index=indexes[types])
        return {"members": told, "counts": _frame_json(region_counts(lines, places)),
                "flows": _frame_json(region_flows(lines)), "places": _frame_json(places), "comparison": comparison}

    return tell


def story_frame(stored: dict[str, Any]) -> pd.DataFrame:
    """A frame of the story as stored (its columns kept when it has no row).

    Parameters
    ----------
    stored : dict
        ``{"columns": [...], "records": [...]}``.
    """
    return pd.DataFrame(stored.get("records") or [], columns=stored.get("columns") or None)


def _frame_json(frame: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [str(c) for c in frame.columns], "records": frame.to_dict("records")}
