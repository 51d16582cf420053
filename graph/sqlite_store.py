"""The embedded graph store: nodes and aggregated edges in ``HOME/graph.sqlite``.

A build replaces the previous one in a single transaction (WAL mode), so the
viewer reading a neighbourhood sees the old graph or the new one, never half.
Edges are indexed by each end and amount, which is what a neighbourhood asks.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from graph.build import EDGE_COLUMNS, ClaimsGraph
from graph.store import Neighbourhood, iso_day, sort_heaviest, split_node_id, walk
from ground.errors import NotFound, StoreError
from ground.sqlite import connect, transaction
from ingest.schema import ENTITY_TYPES

__all__ = ["SqliteGraphStore", "DB_NAME"]

DB_NAME = "graph.sqlite"

_FIXED_NODE = ("node_id", "node_type", "entity_id", "label", "n_lines", "amount")
_WRITE_ROWS = 100_000
_WRITE_CACHE_KB = 256 * 1024
_INT_EDGE = {"n_claims", "n_lines", "n_prior_auth"}
_EDGE_SQL_TYPES = {c: ("INTEGER" if c in _INT_EDGE else "TEXT" if c in {"source", "target", "edge_type",
                                                                         "first_date", "last_date"} else "REAL")
                   for c in EDGE_COLUMNS}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY, node_type TEXT NOT NULL, entity_id TEXT NOT NULL, label TEXT,
    n_lines INTEGER, amount REAL, attrs TEXT NOT NULL DEFAULT '{{}}'
);
CREATE TABLE IF NOT EXISTS edges ({", ".join(f"{c} {t}" for c, t in _EDGE_SQL_TYPES.items())});
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS nodes_entity ON nodes (entity_id);
CREATE INDEX IF NOT EXISTS edges_source ON edges (source, amount DESC);
CREATE INDEX IF NOT EXISTS edges_target ON edges (target, amount DESC);
"""


class SqliteGraphStore:
    """The claims graph in one SQLite file.

    Parameters
    ----------
    home : path
        Shabaka's HOME; the file is ``home/graph.sqlite``.
    """

    def __init__(self, home: str | Path):
        self.path = Path(home) / DB_NAME
        self._conn = connect(self.path)
        self._conn.executescript(_SCHEMA + _INDEXES)

    def write(self, graph: ClaimsGraph) -> None:
        """Replace the stored graph with ``graph`` in one transaction.

        Parameters
        ----------
        graph : ClaimsGraph
        """
        self.write_parts([("nodes", graph.nodes), ("edges", graph.edges)])

    def write_parts(self, parts: Iterable[tuple[str, pd.DataFrame]]) -> tuple[int, int]:
        """Replace the stored graph with node and edge tables written as they come, in one transaction.

        ``parts`` is what :func:`graph.build.graph_parts` yields: each table is written in
        slices of :data:`_WRITE_ROWS` rows and let go before the next is built, so memory
        holds one node or edge type at a time, never the whole graph nor its rows as
        Python tuples. Readers see the previous graph until the commit.

        Parameters
        ----------
        parts : iterable of ("nodes" or "edges", DataFrame)
            Node tables (:data:`graph.build.NODE_COLUMNS` and attributes) and edge
            tables (:data:`graph.build.EDGE_COLUMNS`).

        Returns
        -------
        (nodes, edges) written
        """
        placeholders = ", ".join("?" for _ in EDGE_COLUMNS)
        n_nodes = n_edges = 0
        with transaction(self._conn) as conn:
            # a bigger page cache for this write: building the indexes of millions of edges sorts fewer runs
            conn.execute(f"PRAGMA cache_size=-{_WRITE_CACHE_KB}")
            # dropping the indexes during the bulk insert and rebuilding them is several times faster
            conn.execute("DROP INDEX IF EXISTS edges_source")
            conn.execute("DROP INDEX IF EXISTS edges_target")
            conn.execute("DELETE FROM edges")
            conn.execute("DELETE FROM nodes")
            for kind, frame in parts:
                for start in range(0, len(frame), _WRITE_ROWS):
                    piece = frame.iloc[start:start + _WRITE_ROWS]
                    if kind == "nodes":
                        conn.executemany("INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?)", _node_rows(piece))
                    else:
                        conn.executemany(f"INSERT INTO edges ({', '.join(EDGE_COLUMNS)}) VALUES ({placeholders})",
                                         zip(*_edge_columns_for_sql(piece)))
                if kind == "nodes":
                    n_nodes += len(frame)
                else:
                    n_edges += len(frame)
                del frame
            for statement in _INDEXES.strip().split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("built_at", datetime.now(timezone.utc).isoformat(timespec="seconds")),
                ("n_nodes", str(n_nodes)), ("n_edges", str(n_edges)),
            ])
        self._conn.execute("PRAGMA cache_size=-2000")
        return n_nodes, n_edges

    def meta(self) -> dict[str, str]:
        """What was stored when: ``built_at``, ``n_nodes``, ``n_edges`` (empty before a first build)."""
        return {row["key"]: row["value"] for row in self._conn.execute("SELECT key, value FROM meta")}

    def load_graph(self) -> ClaimsGraph:
        """The whole stored graph back as a :class:`ClaimsGraph` (to push it elsewhere)."""
        nodes = self._nodes_frame(self._conn.execute("SELECT * FROM nodes ORDER BY node_id").fetchall())
        edges = _edges_frame(self._conn.execute("SELECT * FROM edges ORDER BY source, target, edge_type").fetchall())
        return ClaimsGraph(nodes=nodes, edges=edges)

    def resolve(self, entity_id: str) -> list[str]:
        """Node ids meant by ``entity_id`` (a node id, or a bare entity id of any type).

        Parameters
        ----------
        entity_id : str

        Raises
        ------
        NotFound
            When no node matches.
        """
        node_type, bare = split_node_id(entity_id)
        if node_type:
            rows = self._conn.execute("SELECT node_id FROM nodes WHERE node_id = ?", (entity_id,)).fetchall()
        else:
            rows = self._conn.execute("SELECT node_id FROM nodes WHERE entity_id = ? ORDER BY node_id",
                                      (bare,)).fetchall()
        if not rows:
            raise NotFound(f"graph store {self.path}: no node with id {entity_id!r} (was `shabaka graph build` run?)")
        return [row["node_id"] for row in rows]

    def neighbourhood(self, entity_id: str, *, hops: int = 1, limit: int = 200,
                      start: str | date | None = None, end: str | date | None = None) -> Neighbourhood:
        """The subgraph within ``hops`` of an entity, at most ``limit`` edges, heaviest first.

        Parameters
        ----------
        entity_id : str
            A node id (``PROVIDER:PRV-1``) or a bare entity id (every node type carrying it).
        hops : int
        limit : int
            Most edges returned, across all hops.
        start, end : date or ISO string, optional
            Keep edges whose [first_date, last_date] overlaps this window.
        """
        first, last = iso_day(start), iso_day(end)
        origin = self.resolve(entity_id)

        def fetch(frontier, seen, room):
            # SQLite keeps only the heaviest rows while it sorts (ORDER BY ... LIMIT): a hub's
            # 40,000 edges are counted, never loaded. Kept edges are skipped after the fact,
            # so ask for as many more as may be skipped.
            frames, total = [], 0
            for chunk in _chunks(frontier, 10_000):
                marks = ", ".join("?" for _ in chunk)
                where = (f"(source IN ({marks}) OR target IN ({marks}))"
                         " AND (? IS NULL OR last_date >= ?) AND (? IS NULL OR first_date <= ?)")
                args = (*chunk, *chunk, first, first, last, last)
                total += self._conn.execute(f"SELECT COUNT(*) FROM edges WHERE {where}", args).fetchone()[0]
                rows = self._conn.execute(
                    f"SELECT * FROM edges WHERE {where} ORDER BY amount DESC, source, target, edge_type LIMIT ?",
                    (*args, room + len(seen))).fetchall()
                frames.append(_edges_frame(rows))
            found = pd.concat(frames, ignore_index=True).drop_duplicates(["source", "target", "edge_type"])
            reached = set(frontier)
            already = sum(1 for source, target, _ in seen if source in reached or target in reached)
            if seen and len(found):
                keys = list(zip(found["source"], found["target"], found["edge_type"]))
                found = found[[k not in seen for k in keys]]
            return sort_heaviest(found).head(room), total - already

        node_ids, edges, omitted = walk(origin, hops, limit, fetch)
        nodes = self._nodes_by_id(node_ids)
        return Neighbourhood(nodes=nodes, edges=edges, omitted=omitted, start=origin)

    def search(self, text: str, limit: int = 20, *, types: Iterable[str] | None = None) -> pd.DataFrame:
        """Nodes whose entity id starts with ``text``, or providers/doctors/intermediaries whose label contains it.

        Parameters
        ----------
        text : str
        limit : int
        types : iterable of str, optional
            Only nodes of these types are matched (the others are never compared with ``text``).

        Returns
        -------
        DataFrame
            ``node_id, node_type, entity_id, label, n_lines, amount``; exact ids first.
        """
        text = text.strip()
        if not text:
            return pd.DataFrame(columns=list(_FIXED_NODE))
        _, bare = split_node_id(text)
        upper = bare + "\U0010ffff"
        kinds = list(ENTITY_TYPES if types is None else types)
        marks = ", ".join("?" for _ in kinds)
        rows = self._conn.execute(
            "SELECT node_id, node_type, entity_id, label, n_lines, amount FROM nodes"
            f" WHERE node_type IN ({marks}) AND ((entity_id >= ? AND entity_id < ?)"
            " OR (node_type IN ('PROVIDER', 'DOCTOR', 'INTERMEDIARY') AND label LIKE ? ESCAPE '\\'))"
            " ORDER BY entity_id <> ?, node_type, entity_id LIMIT ?",
            (*kinds, bare, upper, "%" + _like_escape(bare) + "%", bare, int(limit)),
        ).fetchall()
        return pd.DataFrame([dict(r) for r in rows], columns=list(_FIXED_NODE))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> SqliteGraphStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _nodes_by_id(self, node_ids: list[str]) -> pd.DataFrame:
        rows = []
        for chunk in _chunks(node_ids, 400):
            marks = ", ".join("?" for _ in chunk)
            rows.extend(self._conn.execute(f"SELECT * FROM nodes WHERE node_id IN ({marks})", chunk).fetchall())
        frame = self._nodes_frame(rows)
        order = {n: i for i, n in enumerate(node_ids)}
        return frame.iloc[np.argsort([order[n] for n in frame["node_id"]], kind="stable")].reset_index(drop=True)

    def _nodes_frame(self, rows) -> pd.DataFrame:
        records = []
        for row in rows:
            record = {k: row[k] for k in _FIXED_NODE}
            try:
                record.update({k: v for k, v in json.loads(row["attrs"]).items() if v is not None})
            except json.JSONDecodeError:
                raise StoreError(f"{self.path}: node {row['node_id']!r} has unreadable attributes") from None
            records.append(record)
        frame = pd.DataFrame(records)
        if not len(frame):
            return pd.DataFrame(columns=list(_FIXED_NODE))
        return frame


def _edges_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(EDGE_COLUMNS))
    for column in ("first_date", "last_date"):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    for column in _INT_EDGE:
        frame[column] = frame[column].astype("int64")
    return frame


def _node_rows(nodes: pd.DataFrame):
    extra = [c for c in nodes.columns if c not in _FIXED_NODE and nodes[c].notna().any()]
    attrs = _json_lines(nodes[extra]) if extra else itertools.repeat("{}", len(nodes))
    return zip(
        _texts(nodes["node_id"]), _texts(nodes["node_type"]), _texts(nodes["entity_id"]),
        nodes["label"].astype(object).where(nodes["label"].notna(), None).tolist(),
        nodes["n_lines"].astype("int64").tolist(), nodes["amount"].astype(float).tolist(), attrs,
    )


def _edge_columns_for_sql(edges: pd.DataFrame) -> list:
    columns = []
    for column in EDGE_COLUMNS:
        series = edges[column]
        if column in {"first_date", "last_date"}:
            columns.append(_iso_days(series))
        elif column in _INT_EDGE:
            columns.append(series.astype("int64").tolist())
        elif column in {"source", "target", "edge_type"}:
            columns.append(_texts(series))
        else:
            columns.append(series.astype(float).tolist())
    return columns


def _texts(series: pd.Series) -> list[str] | Iterable[str]:
    """Python strings of a text column without a copy per value where it can: object arrays give their
    strings, a column of one value repeats it."""
    values = series.to_numpy(dtype=object) if series.dtype == object else None
    if values is not None:
        return values.tolist()
    first = series.iloc[0] if len(series) else None
    if len(series) and first is not None and (series == first).all():
        return itertools.repeat(str(first), len(series))
    return series.astype(str).tolist()


def _iso_days(series: pd.Series) -> list[str]:
    """``YYYY-MM-DD`` of each date, formatted once per distinct day."""
    days = series.to_numpy(dtype="datetime64[D]")
    unique, inverse = np.unique(days, return_inverse=True)
    return np.asarray(unique.astype(str), dtype=object)[inverse].tolist()


def _json_lines(frame: pd.DataFrame) -> list[str]:
    if not len(frame):
        return []
    text = frame.to_json(orient="records", lines=True, date_format="iso")
    return text.strip("\n").split("\n")


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
