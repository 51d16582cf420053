"""The ring story's peers: the same distances whether grouped once per run or once per set of types."""

from __future__ import annotations

import pandas as pd
import pytest

from casework.ringmap import distance_comparison, patient_pairs
from export.ringstory import PEER_COLUMNS, ring_story


def _window(mixed: bool) -> pd.DataFrame:
    rows = []
    for i in range(12):
        ptype = ("CLINIC", "LAB", "PHARMACY")[i % 3]
        for b in range(4):
            rows.append((f"P{i}", ptype, f"{1 + i % 4:02d}", f"B{i}-{b}", f"{1 + (i + b) % 6:02d}", 10.0))
    rows += [("RING", "CLINIC", "06", f"R{b}", "11", 50.0) for b in range(5)]
    if mixed:  # a peer billing under a second type: a set of types then selects part of its lines
        rows += [("P0", "LAB", "02", f"B0-{b}", "01", 5.0) for b in range(5, 9)]
    return pd.DataFrame(rows, columns=["provider_id", "provider_type", "provider_region", "beneficiary_id",
                                       "beneficiary_region", "amount_claimed"])


@pytest.mark.parametrize("mixed", [False, True])
def test_story_peers_are_the_pairs_of_the_window_lines_of_the_ring_types(mixed):
    claims = _window(mixed)
    members = pd.DataFrame({"entity_type": ["PROVIDER"], "entity_id": ["RING"], "role": ["hub"], "score": [1.0],
                            "evidence": ["x"]})
    lines = claims[claims["provider_id"] == "RING"].assign(at_risk=True)
    tell = ring_story(claims, None)
    for types in (["CLINIC"], ["CLINIC", "LAB"]):
        ring = lines.assign(provider_type=types[-1]) if len(types) == 1 else pd.concat(
            [lines, lines.assign(provider_type="LAB", provider_id="RING")])
        window = claims.loc[claims["provider_type"].isin(types), PEER_COLUMNS]
        expected = distance_comparison(ring, patient_pairs(window), {"RING"})
        assert tell({"ring_id": "R1"}, members, ring)["comparison"] == expected
