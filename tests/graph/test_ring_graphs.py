"""Many rings' graphs built at once are each ring's own graph, node for node and edge for edge, in order."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from casework.ringlines import WindowLines
from casework.ringpage_parts import graph_to_json
from graph.intermediaries import infer_intermediaries
from graph.ring import only_intermediaries, ring_graph, ring_graphs
from ingest.schema import CLAIM_COLUMNS
from ingest.synthetic import generate_frames


@pytest.fixture(scope="module")
def world():
    data = generate_frames(scale=0.05, weeks=4, seed=5)
    found = infer_intermediaries(data.claims)
    labels = data.labels[data.labels["entity_type"].isin(["PROVIDER", "DOCTOR", "BENEFICIARY"])]
    members = labels[["ring_id", "entity_type", "entity_id", "role"]].drop_duplicates().reset_index(drop=True)
    inferred = sorted(found.table["intermediary_id"].astype(str))
    extra = []
    for k, ring_id in enumerate(sorted(members["ring_id"].unique())):
        # an inferred intermediary in every other ring, and a member with no claim line in every ring
        if k % 2 == 0 and inferred:
            extra.append((ring_id, "INTERMEDIARY", inferred[k % len(inferred)], "recruiter"))
        extra.append((ring_id, "BENEFICIARY", f"NO-LINES-{k}", "patient"))
    extra.append(("RING-EMPTY", "PROVIDER", "NOT-A-PROVIDER", "clinic"))
    for k, (inter, recruited) in enumerate(found.members.groupby("intermediary_id", sort=True)):
        # a ring around an inferred intermediary and the patients it links
        extra.append((f"RING-INT-{k}", "INTERMEDIARY", str(inter), "recruiter"))
        extra += [(f"RING-INT-{k}", "BENEFICIARY", str(b), "recruited_patient") for b in recruited["beneficiary_id"]]
    members = pd.concat([members, pd.DataFrame(extra, columns=members.columns)], ignore_index=True)
    members["score"] = [0.5 + (i % 7) / 10 for i in range(len(members))]
    members["evidence"] = [f"evidence {i}" for i in range(len(members))]
    return data, found, members


def _inputs(data, found, members, providers):
    window = WindowLines(data.claims, members)
    out = []
    for _, own in members.groupby("ring_id", sort=True):
        ids = set(own.loc[own["entity_type"] == "INTERMEDIARY", "entity_id"].astype(str))
        mine = only_intermediaries(copy.copy(found), ids) if ids else None
        out.append((own, window.ring(own).reindex(columns=list(CLAIM_COLUMNS)), providers, mine))
    return out


@pytest.mark.parametrize("with_providers", [True, False])
def test_ring_graphs_equal_each_rings_own_graph_in_order(world, with_providers):
    data, found, members = world
    rings = _inputs(data, found, members, data.providers if with_providers else None)
    together = ring_graphs(rings)
    assert len(together) == len(rings) >= 5
    kinds = set()
    for (own, lines, providers, mine), G in zip(rings, together):
        alone = ring_graph(own, lines, providers=providers, intermediaries=mine)
        assert list(G.nodes(data=True)) == list(alone.nodes(data=True))
        assert list(G.edges(data=True)) == list(alone.edges(data=True))
        # what a ring page stores of it: the same JSON content
        assert json.loads(json.dumps(graph_to_json(G))) == json.loads(json.dumps(graph_to_json(alone)))
        kinds |= {d["node_type"] for _, d in G.nodes(data=True)}
        kinds |= {d["edge_type"] for _, _, d in G.edges(data=True)}
    # the fixture exercises every part of a ring's graph
    assert {"PROVIDER", "DOCTOR", "BENEFICIARY", "INTERMEDIARY", "CLAIMED_AT", "TREATED", "RECRUITED"} <= kinds


def test_ring_graphs_keep_rings_apart_when_they_share_entities(world):
    data, found, members = world
    first = members[members["ring_id"] == members["ring_id"].value_counts().idxmax()]
    twice = pd.concat([first, first.assign(ring_id="COPY")], ignore_index=True)
    rings = _inputs(data, found, twice, data.providers)
    a, b = ring_graphs(rings)
    assert list(a.nodes(data=True)) == list(b.nodes(data=True)) and a.number_of_nodes() > 3
    assert list(a.edges(data=True)) == list(b.edges(data=True)) and a.number_of_edges() > 3
