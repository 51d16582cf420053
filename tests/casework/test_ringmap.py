"""A ring's geography: regions, flows and distances against the providers' peers."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from casework.ringmap import (MIN_PEERS, REGION_SEATS, PeerIndex, ProviderRows, distance_comparison,
                              distance_sentence, haversine_km, lines_travel, patient_pairs, provider_places,
                              region_counts, region_flows, travel)
from ingest.synthetic import generate_frames
from ingest.schema import REGIONS


def _lines(rows):
    return pd.DataFrame(rows, columns=["beneficiary_id", "beneficiary_region", "provider_id", "provider_type",
                                       "provider_region", "amount_claimed"])


def test_haversine_matches_known_distances():
    casablanca, rabat = REGION_SEATS["06"], REGION_SEATS["04"]
    assert haversine_km(casablanca[1], casablanca[2], rabat[1], rabat[2]) == pytest.approx(87, abs=3)
    assert haversine_km(casablanca[1], casablanca[2], casablanca[1], casablanca[2]) == 0.0
    assert set(REGION_SEATS) == set(REGIONS)


def test_region_counts_and_flows_add_up_to_the_lines():
    lines = _lines([("B1", "02", "P1", "CLINIC", "06", 100.0), ("B1", "02", "P1", "CLINIC", "06", 50.0),
                    ("B2", "02", "P1", "CLINIC", "06", 10.0), ("B3", "06", "P1", "CLINIC", "06", 5.0),
                    ("B4", None, "P1", "CLINIC", "06", 7.0)])
    places = provider_places(lines, None)
    counts = region_counts(lines, places).set_index("region")
    assert len(counts) == 12
    assert counts.loc["02", "patients"] == 2 and counts.loc["02", "amount"] == 160.0
    assert counts.loc["06", "patients"] == 1 and counts.loc["06", "providers"] == 1
    flows = region_flows(lines)
    assert flows.iloc[0].to_dict() == {"from_region": "02", "to_region": "06", "patients": 2, "lines": 3,
                                       "amount": 160.0}
    assert flows["lines"].sum() == 4  # the line without a home region is not a flow


def test_provider_places_prefer_coordinates_then_region_seat():
    lines = _lines([("B1", "02", "P1", "CLINIC", "06", 1.0), ("B1", "02", "P2", "LAB", "04", 1.0)])
    table = pd.DataFrame({"provider_id": ["P1"], "name": ["Clinique A"], "city": ["Settat"], "region": ["06"],
                          "latitude": [33.0], "longitude": [-7.62]})
    places = provider_places(lines, table).set_index("provider_id")
    assert places.loc["P1", "located"] == "coordinates" and places.loc["P1", "lat"] == 33.0
    assert places.loc["P2", "located"] == "region seat" and places.loc["P2", "lat"] == REGION_SEATS["04"][1]


def test_travel_is_a_patient_weighted_median():
    lines = _lines([(f"B{i}", "06", "P1", "CLINIC", "06", 1.0) for i in range(3)]
                   + [(f"F{i}", "11", "P1", "CLINIC", "06", 1.0) for i in range(2)])
    out = travel(patient_pairs(lines), provider_places(lines, None))
    assert out["pairs"] == 5 and out["median_km"] == 0.0 and out["share_far"] == pytest.approx(0.4)


def test_distance_comparison_uses_regional_peers_and_falls_back_to_national_ones():
    ring = _lines([(f"R{i}", "11", "RING", "CLINIC", "06", 1.0) for i in range(4)])
    near = [(f"N{p}{i}", "06", f"PEER{p}", "CLINIC", "06", 1.0) for p in range(MIN_PEERS) for i in range(3)]
    elsewhere = [(f"E{i}", "09", "FAR", "CLINIC", "07", 1.0) for i in range(4)]
    peers = patient_pairs(_lines(near + elsewhere + [(f"R{i}", "11", "RING", "CLINIC", "06", 1.0) for i in range(4)]))
    out = distance_comparison(ring, peers, ["RING"])
    assert out["groups"] == [{"type": "CLINIC", "region": "06", "n_peers": MIN_PEERS, "national": False}]
    assert out["ring"]["median_km"] == pytest.approx(894, abs=1)
    assert out["peers"]["median_km"] == 0.0 and out["n_peers"] == MIN_PEERS
    text = distance_sentence(out)
    assert re.match(r"The ring's 4 patients travelled a median 894 km to its 1 provider \(100% ", text)
    assert f"Patients of their {MIN_PEERS} peers (clinics in Casablanca-Settat) travelled a median 0 km" in text

    few = patient_pairs(_lines(near[:3] + elsewhere))  # one regional peer only: compare nationally
    out = distance_comparison(ring, few, ["RING"])
    assert out["national"] and out["n_peers"] == 2
    assert out["peers"]["median_km"] == pytest.approx(haversine_km(*REGION_SEATS["09"][1:], *REGION_SEATS["07"][1:]))
    assert "clinics nationally, fewer than 3 of each in Casablanca-Settat" in distance_sentence(out)
    assert "times as far" in distance_sentence(out) and "(57% cross a region)" in distance_sentence(out)


def test_distance_sentence_says_when_nothing_can_be_measured():
    empty = distance_comparison(_lines([]), patient_pairs(_lines([])), ["RING"])
    assert distance_sentence(empty).startswith("No distance can be measured")
    ring = _lines([("R1", "11", "RING", "CLINIC", "06", 1.0)])
    alone = distance_comparison(ring, patient_pairs(ring), ["RING"])
    assert distance_sentence(alone).endswith("No peer provider of the same type has patients in this window to "
                                             "compare with.")


def test_provider_rows_of_ids_are_the_rows_a_mask_selects_in_table_order():
    table = pd.DataFrame({"provider_id": ["P2", "P1", 7, "P2", "P3", None], "name": list("abcdef")})
    rows = ProviderRows(table)
    for ids in (["P2", "7"], {"P1", "P3", "P9"}, [7, "P2"], [], ["P9"]):
        expected = table[table["provider_id"].astype(str).isin({str(i) for i in ids})]
        pd.testing.assert_frame_equal(rows.of(ids), expected)
    assert ProviderRows(None).of(["P1"]) is None
    assert len(ProviderRows(table.iloc[:0]).of(["P1"])) == 0


def test_distance_comparison_with_the_ring_places_given_is_the_same():
    ring = _lines([("B1", "02", "RING", "CLINIC", "06", 1.0), ("B2", "06", "RING", "CLINIC", "06", 1.0)])
    peers = patient_pairs(_lines([("B3", "06", f"P{i}", "CLINIC", "06", 1.0) for i in range(MIN_PEERS)]))
    assert distance_comparison(ring, peers, ["RING"], ring_places=provider_places(ring, None)) == \
        distance_comparison(ring, peers, ["RING"])


def test_the_peer_index_gives_every_ring_the_comparison_of_the_whole_peer_tables():
    data = generate_frames(scale=0.05, weeks=4, seed=5)
    claims = data.claims
    pairs = patient_pairs(claims)
    places = provider_places(pairs.drop_duplicates("provider_id"), data.providers)
    index = PeerIndex(pairs, places)
    labels = data.labels[data.labels["entity_type"].isin(["PROVIDER", "DOCTOR"])]
    rings = [set(own["entity_id"].astype(str)) for _, own in labels.groupby("ring_id")]
    busiest = claims["provider_id"].value_counts().index.astype(str)
    # rings of ordinary providers too: one, several of one region, and one with no line
    rings += [{busiest[0]}, set(busiest[:6]), {"NOT-A-PROVIDER"}]
    compared = 0
    for ring_ids in rings:
        lines = claims[claims["provider_id"].astype(str).isin(ring_ids)]
        whole = distance_comparison(lines, pairs, ring_ids, data.providers, peer_places=places)
        indexed = distance_comparison(lines, pairs, ring_ids, data.providers, peer_places=places, index=index)
        assert indexed == whole
        compared += bool(whole["peers"]["pairs"])
    assert compared >= 5
    # fewer than MIN_PEERS in the region: the national fallback, the same with the index
    lone = _lines([("R1", "11", "RING", "CLINIC", "06", 1.0)])
    few = patient_pairs(_lines([("B1", "09", "FAR", "CLINIC", "07", 1.0), ("B2", "06", "P1", "CLINIC", "06", 1.0),
                                ("B3", "06", "RING", "CLINIC", "06", 1.0), ("B4", None, "P2", "LAB", "06", 1.0)]))
    few_places = provider_places(few, None)
    out = distance_comparison(lone, few, ["RING"], peer_places=few_places, index=PeerIndex(few, few_places))
    assert out == distance_comparison(lone, few, ["RING"], peer_places=few_places) and out["national"]


def test_travel_of_lines_counted_in_one_pass_is_travel_of_their_patient_pairs():
    data = generate_frames(scale=0.05, weeks=4, seed=5)
    claims = data.claims
    busiest = claims["provider_id"].value_counts().index.astype(str)
    labels = data.labels[data.labels["entity_type"] == "PROVIDER"]
    groups = [set(own["entity_id"].astype(str)) for _, own in labels.groupby("ring_id")]
    groups += [{busiest[0]}, set(busiest[:8]), {"NOT-A-PROVIDER"}]
    measured = 0
    for ids in groups:
        lines = claims[claims["provider_id"].astype(str).isin(ids)].copy()
        for places in (provider_places(lines, data.providers), provider_places(lines, None)):
            assert lines_travel(lines, places) == travel(patient_pairs(lines), places)
        measured += bool(travel(patient_pairs(lines), provider_places(lines, None))["pairs"])
    assert measured >= 5
    # missing patients, regions and providers, and a region without a seat, are left out alike
    odd = _lines([("B1", None, "P1", "CLINIC", "06", 1.0), (None, "02", "P1", "CLINIC", "06", 1.0),
                  ("B2", "02", None, "CLINIC", "06", 1.0), ("B3", "99", "P1", "CLINIC", "06", 1.0),
                  ("B4", "02", "P1", "CLINIC", "06", 1.0), ("B4", "02", "P1", "CLINIC", "06", 2.0)])
    assert lines_travel(odd, provider_places(odd, None)) == travel(patient_pairs(odd), provider_places(odd, None))
    assert lines_travel(odd.iloc[:0], provider_places(odd, None))["pairs"] == 0
