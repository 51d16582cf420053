"""The embedded graph store: nodes and aggregated edges in ``HOME/graph.sqlite``.

Nodes are numbered by an integer ``key`` (in node id order) and edges hold their ends
as keys, so the edge table and its indexes hold integers, not repeated text ids; the
node id (``TYPE:entity``) is a generated column of the node table. Edge types are coded
through the small ``edge_types`` table and dates are whole days since 1970-01-01.

A build writes a new database file of its own (``HOME/graphs/<stamp>.sqlite``: no
journal, the indexes created after the rows are in), then points ``HOME/graph.sqlite``,
a symbolic link, at it with one rename: the viewer reading a neighbourhood sees the old
graph or the new one, never half, and a killed build leaves the previous graph in
place (its temporary file is removed by the next build). Edges are indexed by each end,
which is what a neighbourhood asks.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import time
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from graph.build import EDGE_COLUMNS, EDGE_TYPES, ClaimsGraph
from graph.store import Neighbourhood, iso_day, sort_heaviest, split_node_id, walk
from ground.errors import NotFound, StoreError
from ground.files import create_private, private_dir, sync
from ground.sqlite import connect, transaction
from ingest.schema import ENTITY_TYPES

__all__ = ["SqliteGraphStore", "DB_NAME", "BUILDS_DIR"]

DB_NAME = "graph.sqlite"
#: Folder of HOME holding the builds ``graph.sqlite`` points at.
BUILDS_DIR = "graphs"

_FIXED_NODE = ("node_id", "node_type", "entity_id", "label", "n_lines", "amount")
_SCHEMA_VERSION = "2"
_WRITE_ROWS = 100_000
_WRITE_CACHE_KB = 256 * 1024
_INT_EDGE = {"n_claims", "n_lines", "n_prior_auth"}
_DATE_EDGE = ("first_date", "last_date")
_EDGE_VALUES = [c for c in EDGE_COLUMNS if c not in ("source", "target", "edge_type")]
#: Edge type codes in name order, so that ordering by code orders by name.
_EDGE_CODES = {name: code for code, name in enumerate(sorted(EDGE_TYPES))}
_EPOCH = np.datetime64("1970-01-01", "D")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    key INTEGER PRIMARY KEY, node_type TEXT NOT NULL, entity_id TEXT NOT NULL, label TEXT,
    n_lines INTEGER, amount REAL, attrs TEXT NOT NULL DEFAULT '{}',
    node_id TEXT GENERATED ALWAYS AS (node_type || ':' || entity_id) VIRTUAL
);
CREATE TABLE IF NOT EXISTS edge_types (code INTEGER PRIMARY KEY, edge_type TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS edges (
    source INTEGER NOT NULL, target INTEGER NOT NULL, edge_type INTEGER NOT NULL,
    """ + ", ".join(f"{c} {'INTEGER' if c in _INT_EDGE or c in _DATE_EDGE else 'REAL'}" for c in _EDGE_VALUES) + """
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS nodes_entity ON nodes (entity_id);
CREATE INDEX IF NOT EXISTS edges_source ON edges (source);
CREATE INDEX IF NOT EXISTS edges_target ON edges (target);
"""
# Edges (the table, or a query on it) with their ends and type as text, as the readers want them.
_EDGE_SELECT = (
    "SELECT e.source AS source_key, e.target AS target_key, s.node_type || ':' || s.entity_id AS source,"
    " t.node_type || ':' || t.entity_id AS target, k.edge_type AS edge_type, "
    + ", ".join(f"e.{c} AS {c}" for c in _EDGE_VALUES)
    + " FROM {edges} e JOIN nodes s ON s.key = e.source JOIN nodes t ON t.key = e.target"
    " JOIN edge_types k ON k.code = e.edge_type"
)
#: Keys are numbered in node id order and edge type codes in name order: this is (source, target, edge_type) order.
_EDGE_ORDER = "e.amount DESC, e.source, e.target, e.edge_type"


class SqliteGraphStore:
    """The claims graph in one SQLite file.

    Parameters
    ----------
    home : path
        Shabaka's HOME; the graph is ``home/graph.sqlite``.
    """

    def __init__(self, home: str | Path):
        self.home = Path(home)
        self.path = self.home / DB_NAME
        self._conn = self._open()

    def write(self, graph: ClaimsGraph) -> None:
        """Replace the stored graph with ``graph`` (node ids as text), atomically.

        Parameters
        ----------
        graph : ClaimsGraph
        """
        self.write_parts(_keyed_parts(graph))

    def write_parts(self, parts: Iterable[tuple[str, pd.DataFrame]]) -> tuple[int, int]:
        """Replace the stored graph with node and edge tables written as they come, atomically.

        ``parts`` is what :func:`graph.build.graph_parts` yields: each table is written in
        slices of :data:`_WRITE_ROWS` rows and let go before the next is built, so memory
        holds one node or edge type at a time, never the whole graph nor its rows as
        Python tuples. The rows go into a new file, indexed once they are all in, which
        then replaces the previous build in one rename; readers see the previous graph
        until then.

        Parameters
        ----------
        parts : iterable of ("nodes" or "edges", DataFrame)
            Node tables (``key``, ``node_type``, ``entity_id``, ``label``, ``n_lines``,
            ``amount`` and attributes) and edge tables (:data:`graph.build.EDGE_COLUMNS`,
            ``source`` and ``target`` being node keys).

        Returns
        -------
        (nodes, edges) written
        """
        builds = private_dir(self.home / BUILDS_DIR)
        _remove_unused(self.home)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        temporary = create_private(builds / f".{stamp}.{os.getpid()}.tmp")
        try:
            n_nodes, n_edges = _fill(temporary, parts)
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
            final = builds / f"{stamp}.sqlite"
            link = self.home / f".{DB_NAME}.{os.getpid()}.tmp"
            link.unlink(missing_ok=True)
            # a relative link: a copied HOME points at its own copy
            os.symlink(Path(BUILDS_DIR) / final.name, link)
            os.replace(temporary, final)
            os.replace(link, self.path)
            if not final.exists():
                raise StoreError(f"{final}: removed while it was being published (two graph builds at once?); "
                                 "build the graph again")
            sync(builds)
            sync(self.home)
        finally:
            temporary.unlink(missing_ok=True)
        self._conn.close()
        self._conn = self._open()
        _remove_unused(self.home)
        return n_nodes, n_edges

    def meta(self) -> dict[str, str]:
        """What was stored when: ``built_at``, ``n_nodes``, ``n_edges`` (empty before a first build)."""
        return {row["key"]: row["value"] for row in self._conn.execute("SELECT key, value FROM meta")}

    def load_graph(self) -> ClaimsGraph:
        """The whole stored graph back as a :class:`ClaimsGraph` (to push it elsewhere)."""
        self._check()
        nodes = self._nodes_frame(self._conn.execute(
            "SELECT key, node_id, node_type, entity_id, label, n_lines, amount, attrs FROM nodes ORDER BY key"
        ).fetchall())
        # keys are in node id order and edge type codes in name order: this is (source, target, edge_type) order
        edges = _edges_frame(self._conn.execute(
            _EDGE_SELECT.format(edges="edges") + " ORDER BY e.source, e.target, e.edge_type").fetchall())
        return ClaimsGraph(nodes=nodes.drop(columns="key"), edges=edges.drop(columns=["source_key", "target_key"]))

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
        return [node for _, node in self._resolve(entity_id)]

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
        first, last = _day_number(iso_day(start)), _day_number(iso_day(end))
        found_keys = self._resolve(entity_id)
        key_of = {node: key for key, node in found_keys}

        def fetch(frontier, seen, room):
            # SQLite keeps only the heaviest rows while it sorts (ORDER BY ... LIMIT): a hub's
            # 40,000 edges are counted, never loaded. Kept edges are skipped after the fact,
            # so ask for as many more as may be skipped. Keys order as node ids do, so ties
            # are broken as the text ids would break them.
            frames, total = [], 0
            for chunk in _chunks([key_of[node] for node in frontier], 10_000):
                marks = ", ".join("?" for _ in chunk)
                where = (f"(e.source IN ({marks}) OR e.target IN ({marks}))"
                         " AND (? IS NULL OR e.last_date >= ?) AND (? IS NULL OR e.first_date <= ?)")
                args = (*chunk, *chunk, first, first, last, last)
                total += self._conn.execute(f"SELECT COUNT(*) FROM edges e WHERE {where}", args).fetchone()[0]
                # the heaviest edges first, then their ends' ids: a hub's other edges are never joined
                heaviest = f"(SELECT * FROM edges e WHERE {where} ORDER BY {_EDGE_ORDER} LIMIT ?)"
                rows = self._conn.execute(f"{_EDGE_SELECT.format(edges=heaviest)} ORDER BY {_EDGE_ORDER}",
                                          (*args, room + len(seen))).fetchall()
                frames.append(_edges_frame(rows))
            found = pd.concat(frames, ignore_index=True).drop_duplicates(["source", "target", "edge_type"])
            key_of.update(zip(found["source"], found["source_key"].tolist()))
            key_of.update(zip(found["target"], found["target_key"].tolist()))
            found = found.drop(columns=["source_key", "target_key"])
            reached = set(frontier)
            already = sum(1 for source, target, _ in seen if source in reached or target in reached)
            if seen and len(found):
                keys = list(zip(found["source"], found["target"], found["edge_type"]))
                found = found[[k not in seen for k in keys]]
            return sort_heaviest(found).head(room), total - already

        origin = [node for _, node in found_keys]
        node_ids, edges, omitted = walk(origin, hops, limit, fetch)
        nodes = self._nodes_by_key([key_of[node] for node in node_ids], node_ids)
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
        self._check()
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

    def _open(self) -> sqlite3.Connection:
        conn = connect(self.path)
        columns = {row["name"] for row in conn.execute("PRAGMA table_xinfo(nodes)")}
        self._legacy = bool(columns) and "key" not in columns
        if not self._legacy:
            conn.executescript(_SCHEMA + _INDEXES)
        return conn

    def _check(self) -> None:
        if self._legacy:
            raise StoreError(f"{self.path}: a graph store written by an earlier version of Shabaka; "
                             "`shabaka graph build` (or the next `shabaka run`) rewrites it")

    def _resolve(self, entity_id: str) -> list[tuple[int, str]]:
        self._check()
        node_type, bare = split_node_id(entity_id)
        if node_type:
            rows = self._conn.execute("SELECT key, node_id FROM nodes WHERE entity_id = ? AND node_type = ?",
                                      (bare, node_type)).fetchall()
        else:
            rows = self._conn.execute("SELECT key, node_id FROM nodes WHERE entity_id = ? ORDER BY key",
                                      (bare,)).fetchall()
        if not rows:
            raise NotFound(f"graph store {self.path}: no node with id {entity_id!r} (was `shabaka graph build` run?)")
        return [(row["key"], row["node_id"]) for row in rows]

    def _nodes_by_key(self, keys: list[int], node_ids: list[str]) -> pd.DataFrame:
        rows = []
        for chunk in _chunks(keys, 400):
            marks = ", ".join("?" for _ in chunk)
            rows.extend(self._conn.execute(
                "SELECT key, node_id, node_type, entity_id, label, n_lines, amount, attrs FROM nodes"
                f" WHERE key IN ({marks})", chunk).fetchall())
        frame = self._nodes_frame(rows).drop(columns="key")
        if not len(frame):
            return frame
        order = {n: i for i, n in enumerate(node_ids)}
        return frame.iloc[np.argsort([order[n] for n in frame["node_id"]], kind="stable")].reset_index(drop=True)

    def _nodes_frame(self, rows) -> pd.DataFrame:
        records = []
        for row in rows:
            record = {k: row[k] for k in ("key", *_FIXED_NODE)}
            try:
                record.update({k: v for k, v in json.loads(row["attrs"]).items() if v is not None})
            except json.JSONDecodeError:
                raise StoreError(f"{self.path}: node {row['node_id']!r} has unreadable attributes") from None
            records.append(record)
        frame = pd.DataFrame(records)
        if not len(frame):
            return pd.DataFrame(columns=["key", *_FIXED_NODE])
        return frame


def _fill(path: Path, parts: Iterable[tuple[str, pd.DataFrame]]) -> tuple[int, int]:
    """Write a whole graph into the new database file ``path``: rows, then indexes, then WAL mode."""
    conn = sqlite3.connect(path)
    try:
        # a file nobody reads yet: no journal, no syncs (the caller syncs it before it is used)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(f"PRAGMA cache_size=-{_WRITE_CACHE_KB}")
        conn.executescript(_SCHEMA)
        n_nodes = n_edges = 0
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO edge_types VALUES (?, ?)", [(c, n) for n, c in _EDGE_CODES.items()])
        node_sql = "INSERT INTO nodes (key, node_type, entity_id, label, n_lines, amount, attrs) VALUES (?, ?, ?, ?, ?, ?, ?)"
        edge_sql = (f"INSERT INTO edges (source, target, edge_type, {', '.join(_EDGE_VALUES)})"
                    f" VALUES ({', '.join('?' for _ in range(3 + len(_EDGE_VALUES)))})")
        for kind, frame in parts:
            for start in range(0, len(frame), _WRITE_ROWS):
                piece = frame.iloc[start:start + _WRITE_ROWS]
                if kind == "nodes":
                    conn.executemany(node_sql, _node_rows(piece))
                else:
                    conn.executemany(edge_sql, zip(*_edge_columns_for_sql(piece)))
            if kind == "nodes":
                n_nodes += len(frame)
            else:
                n_edges += len(frame)
            del frame
        for statement in _INDEXES.strip().split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("built_at", datetime.now(timezone.utc).isoformat(timespec="seconds")),
            ("n_nodes", str(n_nodes)), ("n_edges", str(n_edges)), ("schema", _SCHEMA_VERSION),
        ])
        conn.commit()
        # WAL is a property of the file: readers find it set and never write the header themselves
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return n_nodes, n_edges


def _keyed_parts(graph: ClaimsGraph):
    """A graph with text node ids as the keyed parts :meth:`SqliteGraphStore.write_parts` takes."""
    nodes = graph.nodes.sort_values("node_id", kind="stable", ignore_index=True)
    index = pd.Index(nodes["node_id"].astype(str))
    nodes = nodes.drop(columns="node_id")
    nodes.insert(0, "key", np.arange(len(nodes), dtype=np.int64))
    yield "nodes", nodes
    edges = graph.edges.copy()
    for end in ("source", "target"):
        keys = index.get_indexer(edges[end].astype(str))
        if (keys < 0).any():
            raise StoreError(f"edge {end} {edges[end].iloc[int(np.flatnonzero(keys < 0)[0])]!r} is not a node of the graph")
        edges[end] = keys
    yield "edges", edges


def _remove_unused(home: Path) -> None:
    """Delete the builds ``graph.sqlite`` no longer points at, and what killed builds left.

    A temporary file or link is kept while the process named in it runs (it is building);
    the previous database's ``-wal`` and ``-shm`` go with it.
    """
    builds = home / BUILDS_DIR
    link = home / DB_NAME
    current = os.path.realpath(link) if link.is_symlink() else None
    if link.is_symlink() or not link.exists():
        for stale in (home / f"{DB_NAME}-wal", home / f"{DB_NAME}-shm"):
            if stale.is_file() and not stale.is_symlink():
                stale.unlink(missing_ok=True)
    for path in [*home.glob(f".{DB_NAME}.*.tmp"), *(builds.iterdir() if builds.is_dir() else [])]:
        if path.name.endswith(".tmp") and _alive(path.name.rsplit(".", 2)[-2]):
            continue  # a build under way
        if current is not None and not path.is_symlink() and str(path.resolve()).startswith(current):
            continue  # the current build and its -wal and -shm
        path.unlink(missing_ok=True)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _day_number(day: str | None) -> int | None:
    """Days since 1970-01-01 of an ISO day (None stays None)."""
    return None if day is None else int((np.datetime64(day, "D") - _EPOCH).astype(np.int64))


def _edges_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["source_key", "target_key", *EDGE_COLUMNS])
    for column in _DATE_EDGE:
        frame[column] = (np.asarray(frame[column], dtype=np.int64).astype("datetime64[D]")
                         .astype("datetime64[us]"))
    for column in _INT_EDGE:
        frame[column] = frame[column].astype("int64")
    return frame


def _node_rows(nodes: pd.DataFrame):
    extra = [c for c in nodes.columns if c not in _FIXED_NODE and c != "key" and nodes[c].notna().any()]
    attrs = _json_lines(nodes[extra]) if extra else itertools.repeat("{}", len(nodes))
    return zip(
        nodes["key"].astype("int64").tolist(), _texts(nodes["node_type"]), _texts(nodes["entity_id"]),
        nodes["label"].astype(object).where(nodes["label"].notna(), None).tolist(),
        nodes["n_lines"].astype("int64").tolist(), nodes["amount"].astype(float).tolist(), attrs,
    )


def _edge_columns_for_sql(edges: pd.DataFrame) -> list:
    columns = [edges["source"].astype("int64").tolist(), edges["target"].astype("int64").tolist(),
               _edge_codes(edges["edge_type"])]
    for column in _EDGE_VALUES:
        series = edges[column]
        if column in _DATE_EDGE:
            columns.append((series.to_numpy(dtype="datetime64[D]") - _EPOCH).astype(np.int64).tolist())
        elif column in _INT_EDGE:
            columns.append(series.astype("int64").tolist())
        else:
            columns.append(_real_values(series.to_numpy(dtype=float)))
    return columns


def _real_values(values: np.ndarray) -> list:
    """Python values of a float column for a REAL column, each zero as the int 0.

    Most of an edge's amounts by act family are zero; SQLite stores an int bound to a REAL
    column as that REAL (and a whole REAL as an integer on disk either way), so the rows are
    the same, without a Python float made for every zero (one shared int instead).
    """
    out = np.zeros(len(values), dtype=object)
    nonzero = np.flatnonzero(values != 0)
    out[nonzero] = values[nonzero].tolist()
    return out.tolist()


def _edge_codes(series: pd.Series) -> list[int] | Iterable[int]:
    """The code of each edge type (one edge type per part: one code repeated)."""
    names = pd.unique(series.astype(str))
    unknown = [n for n in names if n not in _EDGE_CODES]
    if unknown:
        raise StoreError(f"unknown edge type {unknown[0]!r}; expected one of {', '.join(_EDGE_CODES)}")
    if len(names) == 1:
        return itertools.repeat(_EDGE_CODES[names[0]], len(series))
    return series.astype(str).map(_EDGE_CODES).astype("int64").tolist()


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
