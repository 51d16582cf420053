"""The Cypher sent to Neo4j, checked without a server."""

from __future__ import annotations

import pytest
from neo4j import Query

from graph.build import LABELS
from graph.neo4j_store import (
    Neo4jGraphStore,
    constraint_queries,
    edge_merge_query,
    incident_edges_query,
    node_merge_query,
    prune_queries,
    resolve_query,
    search_query,
)
from graph.store import open_graph_store
from ground.errors import ConfigError, StoreError


def test_every_label_has_a_uniqueness_constraint_on_entity_id():
    texts = [q.text for q in constraint_queries()]
    assert all(isinstance(q, Query) for q in constraint_queries())
    assert "CREATE CONSTRAINT provider_entity_id IF NOT EXISTS FOR (n:Provider) REQUIRE n.entity_id IS UNIQUE" in texts
    for label in LABELS.values():
        assert any(f"FOR (n:{label}) REQUIRE n.entity_id IS UNIQUE" in t for t in texts)
    assert any("FOR (n:Entity) REQUIRE n.node_id IS UNIQUE" in t for t in texts)


def test_nodes_are_merged_in_batches_under_their_readable_label():
    rows = [{"entity_id": "SP-1", "props": {"node_id": "SUBMISSION_POINT:SP-1", "label": "SP-1"}}]
    query, params = node_merge_query("SUBMISSION_POINT", rows)
    assert query.text == ("UNWIND $rows AS row MERGE (n:SubmissionPoint {entity_id: row.entity_id}) "
                          "SET n:Entity, n += row.props")
    assert params == {"rows": rows}


def test_relationships_are_merged_between_matched_ends():
    rows = [{"source": "BEN-1", "target": "PRV-1", "props": {"amount": 10.0}}]
    query, params = edge_merge_query("CLAIMED_AT", "BENEFICIARY", "PROVIDER", rows)
    assert query.text == ("UNWIND $rows AS row MATCH (a:Beneficiary {entity_id: row.source}) "
                          "MATCH (b:Provider {entity_id: row.target}) MERGE (a)-[r:CLAIMED_AT]->(b) SET r += row.props")
    assert params["rows"] is rows
    assert "[r:USES]->" in edge_merge_query("USES", "INTERMEDIARY", "PHONE", rows)[0].text
    assert "(b:Phone " in edge_merge_query("USES", "INTERMEDIARY", "PHONE", rows)[0].text


def test_unknown_relationship_types_never_reach_the_cypher():
    with pytest.raises(StoreError):
        edge_merge_query("X]->() DETACH DELETE a //", "BENEFICIARY", "PROVIDER", [])


def test_stale_builds_are_pruned_by_build_id_in_batches():
    (rels, rel_params), (nodes, node_params) = prune_queries("abc", batch=50)
    assert "WHERE r.build_id <> $build_id WITH r LIMIT $batch DELETE r" in rels.text
    assert "DETACH DELETE n" in nodes.text
    assert rel_params == node_params == {"build_id": "abc", "batch": 50}


def test_node_ids_and_bare_ids_resolve_differently():
    query, params = resolve_query("PROVIDER:PRV-1")
    assert "{node_id: $node_id}" in query.text and params == {"node_id": "PROVIDER:PRV-1"}
    query, params = resolve_query("PRV-1")
    assert "n.entity_id = $entity_id" in query.text and params == {"entity_id": "PRV-1"}


def test_neighbourhood_query_orders_heaviest_first_and_counts_all():
    query, params = incident_edges_query(["PROVIDER:P"], [["BENEFICIARY:B", "PROVIDER:P", "CLAIMED_AT"]], 5,
                                         "2025-01-01", None)
    assert "ORDER BY r.amount DESC" in query.text
    assert "size(found) AS total, found[0..$room] AS edges" in query.text
    assert "r.last_date >= $start" in query.text and "r.first_date <= $end" in query.text
    assert params == {"frontier": ["PROVIDER:P"], "seen": [["BENEFICIARY:B", "PROVIDER:P", "CLAIMED_AT"]],
                      "room": 5, "start": "2025-01-01", "end": None}


def test_search_query_is_parameterised():
    query, params = search_query("Clin'ique", 7, ["PROVIDER"])
    assert "Clin'ique" not in query.text and "PROVIDER'" not in query.text.split("WHERE")[1].split("AND")[0]
    assert params == {"text": "Clin'ique", "limit": 7, "types": ["PROVIDER"]}


def test_neo4j_is_chosen_when_its_uri_is_set(settings):
    store = open_graph_store(settings.replace(neo4j_uri="neo4j://127.0.0.1:9", neo4j_password="x"))
    try:
        assert isinstance(store, Neo4jGraphStore)
    finally:
        store.close()


def test_a_malformed_uri_is_a_config_error():
    with pytest.raises(ConfigError):
        Neo4jGraphStore("ftp://nowhere", "neo4j", "x")
