"""Every export format writes what networkx (or a CSV reader) reads back."""

from __future__ import annotations

import csv
import json

import networkx as nx
import pandas as pd
import pytest

from graph.serialise import coerce_attributes, to_cytoscape, write_graph
from ground.errors import InputRefused


@pytest.fixture
def ring_view(tiny_store):
    return tiny_store.neighbourhood("PROVIDER:PRV-CLINIC-R", hops=2).to_networkx()


def _assert_same(G, H):
    expected = coerce_attributes(G)
    assert set(H.nodes) == set(expected.nodes)
    assert {frozenset(e) for e in H.edges} == {frozenset(e) for e in expected.edges}
    for n, attrs in expected.nodes(data=True):
        assert H.nodes[n] == attrs
    for u, v, attrs in expected.edges(data=True):
        assert H.edges[u, v] == attrs


def test_graphml_round_trips_nodes_edges_and_attributes(ring_view, tmp_path):
    write_graph(ring_view, "graphml", tmp_path / "ring.graphml")
    _assert_same(ring_view, nx.read_graphml(tmp_path / "ring.graphml"))


def test_gexf_round_trips_nodes_edges_and_attributes(ring_view, tmp_path):
    write_graph(ring_view, "gexf", tmp_path / "ring.gexf")
    H = nx.read_gexf(tmp_path / "ring.gexf")
    for n in H.nodes:
        H.nodes[n].setdefault("label", n)
    for _, _, attrs in H.edges(data=True):
        attrs.pop("id", None)
    _assert_same(ring_view, H)


def test_coercion_drops_empty_values_and_writes_dates_as_iso_strings():
    G = nx.Graph()
    G.add_node("a", when=pd.Timestamp("2025-03-12"), missing=None, nan=float("nan"), na=pd.NA, n=3)
    G.add_node("b", n=2.5)
    H = coerce_attributes(G)
    assert H.nodes["a"] == {"when": "2025-03-12", "n": 3.0}
    assert H.nodes["b"] == {"n": 2.5}


def test_cytoscape_json_has_elements_with_data(ring_view, tmp_path):
    data = to_cytoscape(ring_view)
    assert len(data["elements"]["nodes"]) == ring_view.number_of_nodes()
    assert len(data["elements"]["edges"]) == ring_view.number_of_edges()
    node = next(n["data"] for n in data["elements"]["nodes"] if n["data"]["id"] == "PROVIDER:PRV-CLINIC-R")
    assert node["label"] == "PRV-CLINIC-R" and node["node_type"] == "PROVIDER"
    edge = data["elements"]["edges"][0]["data"]
    assert {"id", "source", "target", "weight", "amount"} <= set(edge)
    write_graph(ring_view, "cytoscape", tmp_path / "ring.cyjs")
    assert json.loads((tmp_path / "ring.cyjs").read_text()) == json.loads(json.dumps(data))


def test_node_link_json_round_trips(ring_view, tmp_path):
    write_graph(ring_view, "json", tmp_path / "ring.json")
    H = nx.node_link_graph(json.loads((tmp_path / "ring.json").read_text()), edges="edges")
    _assert_same(ring_view, H)


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_neo4j_import_csv_has_admin_import_headers_and_oriented_relationships(ring_view, tmp_path):
    write_graph(ring_view, "neo4j-csv", tmp_path / "neo4j")
    nodes = _read_csv(tmp_path / "neo4j" / "nodes.csv")
    rels = _read_csv(tmp_path / "neo4j" / "relationships.csv")
    assert {"node_id:ID", ":LABEL", "entity_id", "amount:double", "n_lines:long"} <= set(nodes[0])
    assert {":START_ID", ":END_ID", ":TYPE", "amount:double", "first_date:string"} <= set(rels[0])
    assert len(nodes) == ring_view.number_of_nodes() and len(rels) == ring_view.number_of_edges()
    labels = {row["node_id:ID"]: row[":LABEL"] for row in nodes}
    assert labels["PROVIDER:PRV-CLINIC-R"] == "Provider;Entity"
    assert labels["SUBMISSION_POINT:POINT-SMALL-R"] == "SubmissionPoint;Entity"
    for row in rels:
        if row[":TYPE"] in {"CLAIMED_AT", "PAID_TO", "USED_PHONE"}:
            assert row[":START_ID"].startswith("BENEFICIARY:")
        if row[":TYPE"] == "RECRUITED":
            assert row[":START_ID"].startswith("INTERMEDIARY:")


def test_gephi_csv_has_id_label_source_target_type_weight(ring_view, tmp_path):
    write_graph(ring_view, "gephi-csv", tmp_path / "gephi")
    nodes = _read_csv(tmp_path / "gephi" / "nodes.csv")
    edges = _read_csv(tmp_path / "gephi" / "edges.csv")
    assert list(nodes[0])[:2] == ["Id", "Label"]
    assert list(edges[0])[:4] == ["Source", "Target", "Type", "Weight"]
    assert {e["Type"] for e in edges} == {"Undirected"}
    weights = {frozenset((e["Source"], e["Target"])): int(e["Weight"]) for e in edges}
    assert weights[frozenset(("DOCTOR:DOC-R", "PROVIDER:PRV-CLINIC-R"))] == 8


def test_unknown_format_is_refused(ring_view, tmp_path):
    with pytest.raises(InputRefused):
        write_graph(ring_view, "dot", tmp_path / "x.dot")
