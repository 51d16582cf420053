"""The claims graph in Neo4j, through the official ``neo4j`` driver.

Every node gets its readable label (Provider, Beneficiary, ...) and the common
label ``Entity`` (unique ``node_id``, so a neighbourhood can start from any
node through one index); each label has a uniqueness constraint on
``entity_id``. Writes are batched ``UNWIND $rows AS row MERGE ...`` transactions,
so writing the same graph twice changes nothing; every node and relationship
carries the ``build_id`` of the write, and what an earlier build left behind is
deleted afterwards. The Cypher is built by the ``*_query`` functions, which
return ``(neo4j.Query, parameters)`` and are tested without a server. Labels
and relationship types come only from :data:`graph.build.LABELS` and
:data:`graph.build.EDGE_TYPES`, never from user input.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd
from neo4j import GraphDatabase, Query
from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable

from graph.build import EDGE_COLUMNS, EDGE_TYPES, LABELS, ClaimsGraph
from graph.store import Neighbourhood, iso_day, sort_heaviest, split_node_id, walk
from ingest.schema import ENTITY_TYPES
from ground.errors import ConfigError, NotFound, StoreError

__all__ = [
    "Neo4jGraphStore",
    "constraint_queries",
    "node_merge_query",
    "edge_merge_query",
    "prune_queries",
    "resolve_query",
    "incident_edges_query",
    "nodes_query",
    "search_query",
    "BATCH_ROWS",
]

BATCH_ROWS = 5_000


def constraint_queries() -> list[Query]:
    """One uniqueness constraint per label on ``entity_id``, and one on ``Entity.node_id``."""
    queries = [Query("CREATE CONSTRAINT entity_node_id IF NOT EXISTS "
                     "FOR (n:Entity) REQUIRE n.node_id IS UNIQUE")]
    for label in LABELS.values():
        queries.append(Query(f"CREATE CONSTRAINT {label.lower()}_entity_id IF NOT EXISTS "
                             f"FOR (n:{label}) REQUIRE n.entity_id IS UNIQUE"))
    return queries


def node_merge_query(node_type: str, rows: list[dict]) -> tuple[Query, dict]:
    """MERGE a batch of nodes of one type; each row is ``{"entity_id", "props"}``."""
    label = LABELS[node_type]
    text = (f"UNWIND $rows AS row MERGE (n:{label} {{entity_id: row.entity_id}}) "
            "SET n:Entity, n += row.props")
    return Query(text), {"rows": rows}


def edge_merge_query(edge_type: str, source_type: str, target_type: str, rows: list[dict]) -> tuple[Query, dict]:
    """MERGE a batch of relationships of one type between two labels; rows are ``{"source", "target", "props"}``
    with entity ids at both ends."""
    if edge_type not in EDGE_TYPES:
        raise StoreError(f"relationship type {edge_type!r}: expected one of {', '.join(EDGE_TYPES)}")
    a, b = LABELS[source_type], LABELS[target_type]
    text = (f"UNWIND $rows AS row MATCH (a:{a} {{entity_id: row.source}}) MATCH (b:{b} {{entity_id: row.target}}) "
            f"MERGE (a)-[r:{edge_type}]->(b) SET r += row.props")
    return Query(text), {"rows": rows}


def prune_queries(build_id: str, batch: int = 10_000) -> list[tuple[Query, dict]]:
    """Delete, a batch at a time, relationships then nodes that an earlier build wrote."""
    return [
        (Query("MATCH (:Entity)-[r]->(:Entity) WHERE r.build_id <> $build_id "
               "WITH r LIMIT $batch DELETE r RETURN count(*) AS n"), {"build_id": build_id, "batch": batch}),
        (Query("MATCH (n:Entity) WHERE n.build_id <> $build_id "
               "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS n"), {"build_id": build_id, "batch": batch}),
    ]


def resolve_query(entity_id: str) -> tuple[Query, dict]:
    """Node ids meant by a node id or a bare entity id."""
    node_type, bare = split_node_id(entity_id)
    if node_type:
        return Query("MATCH (n:Entity {node_id: $node_id}) RETURN n.node_id AS node_id"), {"node_id": entity_id}
    return (Query("MATCH (n:Entity) WHERE n.entity_id = $entity_id RETURN n.node_id AS node_id ORDER BY node_id"),
            {"entity_id": bare})


def incident_edges_query(frontier: list[str], seen: list[list[str]], room: int,
                         start: str | None, end: str | None) -> tuple[Query, dict]:
    """The heaviest ``room`` relationships touching ``frontier`` not yet ``seen``, and how many there are.

    Dates are ISO strings, so the window compares as text.
    """
    text = (
        "UNWIND $frontier AS fid MATCH (a:Entity {node_id: fid})-[r]-(:Entity) "
        "WHERE ($start IS NULL OR r.last_date >= $start) AND ($end IS NULL OR r.first_date <= $end) "
        "WITH DISTINCT r, startNode(r).node_id AS source, endNode(r).node_id AS target "
        "WHERE NOT [source, target, type(r)] IN $seen "
        "WITH r, source, target ORDER BY r.amount DESC, source, target "
        "WITH collect({source: source, target: target, edge_type: type(r), props: properties(r)}) AS found "
        "RETURN size(found) AS total, found[0..$room] AS edges"
    )
    return Query(text), {"frontier": list(frontier), "seen": seen, "room": int(room), "start": start, "end": end}


def nodes_query(node_ids: list[str]) -> tuple[Query, dict]:
    """The properties of the given nodes."""
    return (Query("UNWIND $ids AS id MATCH (n:Entity {node_id: id}) RETURN properties(n) AS props"),
            {"ids": list(node_ids)})


def search_query(text: str, limit: int, types: Iterable[str] | None = None) -> tuple[Query, dict]:
    """Nodes (of ``types``, default all) whose entity id starts with ``text`` or providers/doctors/intermediaries
    whose label contains it."""
    query = Query(
        "MATCH (n:Entity) WHERE n.node_type IN $types AND (n.entity_id STARTS WITH $text "
        "OR (n.node_type IN ['PROVIDER', 'DOCTOR', 'INTERMEDIARY'] AND toLower(n.label) CONTAINS toLower($text))) "
        "RETURN n.node_id AS node_id, n.node_type AS node_type, n.entity_id AS entity_id, n.label AS label, "
        "n.n_lines AS n_lines, n.amount AS amount "
        "ORDER BY n.entity_id <> $text, node_type, entity_id LIMIT $limit"
    )
    return query, {"text": text, "limit": int(limit), "types": list(ENTITY_TYPES if types is None else types)}


class Neo4jGraphStore:
    """The claims graph in a Neo4j database.

    Parameters
    ----------
    uri, user, password, database : str
        Where and as whom to connect; an empty password connects without authentication.
    create_constraints : bool
        Create the uniqueness constraints before writing. Only servers that speak Bolt
        and Cypher but not Neo4j's constraint DDL (FalkorDB's Bolt port) need False.
    """

    def __init__(self, uri: str, user: str, password: str, database: str = "neo4j", *,
                 create_constraints: bool = True):
        if not uri:
            raise ConfigError("Neo4j: no URI set (SHABAKA_NEO4J_URI or neo4j_uri in shabaka.toml)")
        self.uri = uri
        self.database = database
        self.create_constraints = create_constraints
        try:
            self._driver = GraphDatabase.driver(uri, auth=(user, password) if password else None)
        except (ValueError, DriverError, Neo4jError) as exc:
            raise ConfigError(f"Neo4j URI {uri!r}: {exc}") from None

    @classmethod
    def from_settings(cls, settings) -> Neo4jGraphStore:
        """A store from ``neo4j_uri``, ``neo4j_user``, ``neo4j_password``, ``neo4j_database``."""
        return cls(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password, settings.neo4j_database)

    def write(self, graph: ClaimsGraph, *, batch_rows: int = BATCH_ROWS) -> str:
        """Write ``graph`` (MERGE, idempotent), then delete what earlier builds left; returns the build id."""
        build_id = uuid.uuid4().hex
        node_type_of = dict(zip(graph.nodes["node_id"].astype(str), graph.nodes["node_type"].astype(str)))
        try:
            for query in constraint_queries() if self.create_constraints else []:
                self._run(query, {})
            for node_type, group in graph.nodes.groupby("node_type", sort=True):
                rows = [{"entity_id": p["entity_id"], "props": p} for p in _props(group, build_id)]
                for chunk in _batches(rows, batch_rows):
                    self._write_tx(*node_merge_query(str(node_type), chunk))
            edges = graph.edges.assign(
                _st=graph.edges["source"].astype(str).map(node_type_of),
                _tt=graph.edges["target"].astype(str).map(node_type_of),
            )
            for (edge_type, st, tt), group in edges.groupby(["edge_type", "_st", "_tt"], sort=True):
                props = _props(group[list(EDGE_COLUMNS)].drop(columns=["source", "target", "edge_type"]), build_id)
                rows = [{"source": split_node_id(s)[1], "target": split_node_id(t)[1], "props": p}
                        for s, t, p in zip(group["source"].astype(str), group["target"].astype(str), props)]
                for chunk in _batches(rows, batch_rows):
                    self._write_tx(*edge_merge_query(str(edge_type), str(st), str(tt), chunk))
            for query, params in prune_queries(build_id):
                while self._write_tx(query, params, count=True):
                    pass
        except ServiceUnavailable as exc:
            raise StoreError(f"Neo4j at {self.uri} is unreachable: {exc}") from None
        except Neo4jError as exc:
            raise StoreError(f"Neo4j at {self.uri} refused the write: {exc.code}: {exc.message}") from None
        return build_id

    def resolve(self, entity_id: str) -> list[str]:
        """Node ids meant by ``entity_id`` (a node id, or a bare entity id of any type); NotFound when none."""
        origin = [r["node_id"] for r in self._read(*resolve_query(entity_id))]
        if not origin:
            raise NotFound(f"Neo4j at {self.uri}: no node with id {entity_id!r}")
        return origin

    def neighbourhood(self, entity_id: str, *, hops: int = 1, limit: int = 200,
                      start: str | date | None = None, end: str | date | None = None) -> Neighbourhood:
        """Same contract as :meth:`graph.sqlite_store.SqliteGraphStore.neighbourhood`, in Cypher."""
        first, last = iso_day(start), iso_day(end)
        origin = self.resolve(entity_id)

        def fetch(frontier, seen, room):
            records = self._read(*incident_edges_query(frontier, [list(k) for k in sorted(seen)], room, first, last))
            record = records[0]
            return _edges_frame(record["edges"]), int(record["total"])

        node_ids, edges, omitted = walk(origin, hops, limit, fetch)
        props = [r["props"] for r in self._read(*nodes_query(node_ids))]
        nodes = pd.DataFrame(props).drop(columns=["build_id"], errors="ignore")
        if len(nodes):
            order = {n: i for i, n in enumerate(node_ids)}
            nodes = nodes.iloc[np.argsort([order[n] for n in nodes["node_id"]], kind="stable")]
        return Neighbourhood(nodes=nodes.reset_index(drop=True), edges=edges, omitted=omitted, start=origin)

    def search(self, text: str, limit: int = 20, *, types: Iterable[str] | None = None) -> pd.DataFrame:
        """Nodes (of ``types``, default all) whose entity id starts with ``text`` or whose provider/doctor label
        contains it."""
        _, bare = split_node_id(text.strip())
        rows = self._read(*search_query(bare, limit, types)) if bare else []
        return pd.DataFrame([dict(r) for r in rows],
                            columns=["node_id", "node_type", "entity_id", "label", "n_lines", "amount"])

    def close(self) -> None:
        """Close the driver."""
        self._driver.close()

    def __enter__(self) -> Neo4jGraphStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, query: Query, params: dict) -> None:
        with self._driver.session(database=self.database) as session:
            session.run(query, params).consume()

    def _write_tx(self, query: Query, params: dict, *, count: bool = False) -> int:
        def work(tx):
            result = tx.run(query.text, params)
            value = result.single()["n"] if count else 0
            result.consume()
            return value

        with self._driver.session(database=self.database) as session:
            return session.execute_write(work)

    def _read(self, query: Query, params: dict) -> list:
        try:
            with self._driver.session(database=self.database) as session:
                return session.execute_read(lambda tx: list(tx.run(query.text, params)))
        except ServiceUnavailable as exc:
            raise StoreError(f"Neo4j at {self.uri} is unreachable: {exc}") from None


def _props(frame: pd.DataFrame, build_id: str) -> list[dict]:
    """Row property maps without empty values; dates as ISO strings; numpy scalars as Python ones."""
    columns = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            series = series.dt.strftime("%Y-%m-%d")
        columns[column] = series.astype(object).where(series.notna(), None).tolist()
    out = []
    for values in zip(*columns.values()):
        props = {"build_id": build_id}
        for name, value in zip(columns, values):
            if isinstance(value, np.generic):
                value = value.item()
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            props[name] = value
        out.append(props)
    return out


def _edges_frame(found: list[dict]) -> pd.DataFrame:
    rows = []
    for item in found:
        props = dict(item["props"])
        props.update(source=item["source"], target=item["target"], edge_type=item["edge_type"])
        rows.append({c: props.get(c) for c in EDGE_COLUMNS})
    frame = pd.DataFrame(rows, columns=list(EDGE_COLUMNS))
    for column in ("first_date", "last_date"):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    return sort_heaviest(frame)


def _batches(rows: list, size: int):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]
