"""Against a real server, only when ``NEO4J_URI`` is set (with NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE).

``NEO4J_CONSTRAINTS=0`` skips the constraint DDL, for servers that speak Bolt and
Cypher without it (FalkorDB's Bolt port).
"""

from __future__ import annotations

import os

import pytest

from graph.neo4j_store import Neo4jGraphStore

pytestmark = pytest.mark.neo4j


@pytest.fixture
def neo4j_store():
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        pytest.skip("NEO4J_URI is not set: no Neo4j server to test against")
    store = Neo4jGraphStore(uri, os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""),
                            os.environ.get("NEO4J_DATABASE", "neo4j"),
                            create_constraints=os.environ.get("NEO4J_CONSTRAINTS", "1") != "0")
    yield store
    store.close()


def test_write_twice_then_neighbourhood_matches_the_embedded_store(neo4j_store, tiny_graph, tiny_store):
    neo4j_store.write(tiny_graph)
    neo4j_store.write(tiny_graph)
    for entity, hops, limit in (("PROVIDER:PRV-CLINIC-R", 1, 200), ("PRV-CLINIC-R", 2, 12), ("DOC-R", 2, 500)):
        ours = neo4j_store.neighbourhood(entity, hops=hops, limit=limit)
        embedded = tiny_store.neighbourhood(entity, hops=hops, limit=limit)
        assert ours.omitted == embedded.omitted
        assert list(ours.edges["amount"]) == list(embedded.edges["amount"])
        assert set(ours.nodes["node_id"]) == set(embedded.nodes["node_id"])


def test_time_window_and_search(neo4j_store, tiny_graph):
    neo4j_store.write(tiny_graph)
    late = neo4j_store.neighbourhood("PROVIDER:PRV-CLINIC-A", start="2025-03-10")
    assert late.edges["edge_type"].eq("CLAIMED_AT").sum() == 3
    assert list(neo4j_store.search("PRV-CLINIC")["node_id"]) == ["PROVIDER:PRV-CLINIC-A", "PROVIDER:PRV-CLINIC-R"]


def test_a_smaller_build_replaces_the_larger(neo4j_store, tiny_graph, tiny_claims):
    from graph.build import build_graph
    from ground.errors import NotFound

    neo4j_store.write(tiny_graph)
    neo4j_store.write(build_graph(tiny_claims[tiny_claims["provider_id"] == "PRV-LAB-R"]))
    with pytest.raises(NotFound):
        neo4j_store.neighbourhood("PRV-CLINIC-A")
