"""One interface for the graph stores, and the neighbourhood walk they share.

The embedded store (:class:`graph.sqlite_store.SqliteGraphStore`, a SQLite file
in HOME) is the default; :class:`graph.neo4j_store.Neo4jGraphStore` is used
when ``settings.neo4j_uri`` is set. A neighbourhood is walked hop by hop,
keeping the heaviest edges (by amount) first and counting what it leaves out,
so a hub clinic never returns 40,000 patients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import networkx as nx
import pandas as pd

from graph.build import EDGE_COLUMNS, ClaimsGraph, frames_to_networkx
from ingest.schema import ENTITY_TYPES

__all__ = ["GraphStore", "Neighbourhood", "open_graph_store", "walk", "split_node_id", "iso_day"]


@dataclass
class Neighbourhood:
    """The subgraph around an entity.

    Attributes
    ----------
    nodes : DataFrame
        ``node_id, node_type, entity_id, label`` and the nodes' other attributes.
    edges : DataFrame
        :data:`graph.build.EDGE_COLUMNS`, heaviest (amount) first.
    omitted : int
        Edges within reach (hops, time window) that the cap left out.
    start : list of str
        The node ids the walk started from.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    omitted: int
    start: list[str] = field(default_factory=list)

    def to_networkx(self) -> nx.Graph:
        """The neighbourhood as a networkx graph (``G.graph["omitted"]`` holds the count left out)."""
        G = frames_to_networkx(self.nodes, self.edges)
        G.graph["omitted"] = int(self.omitted)
        G.graph["start"] = ",".join(self.start)
        return G


class GraphStore(Protocol):
    """What the viewer, the CLI and detectors may ask of a graph store."""

    def write(self, graph: ClaimsGraph) -> None:
        """Replace the stored graph with ``graph``."""

    def resolve(self, entity_id: str) -> list[str]:
        """Node ids meant by a node id or a bare entity id; NotFound when none."""

    def neighbourhood(self, entity_id: str, *, hops: int = 1, limit: int = 200,
                      start: str | date | None = None, end: str | date | None = None) -> Neighbourhood:
        """The subgraph within ``hops`` of an entity, at most ``limit`` edges, heaviest first."""

    def search(self, text: str, limit: int = 20, *, types: Iterable[str] | None = None) -> pd.DataFrame:
        """Nodes (of ``types``, default all) whose id starts with ``text`` or whose label contains it."""

    def close(self) -> None:
        """Release the connection."""


def open_graph_store(settings) -> GraphStore:
    """Neo4j when ``settings.neo4j_uri`` is set, else the embedded SQLite store in HOME."""
    if settings.neo4j_uri:
        from graph.neo4j_store import Neo4jGraphStore

        return Neo4jGraphStore.from_settings(settings)
    from graph.sqlite_store import SqliteGraphStore

    return SqliteGraphStore(settings.home_path)


def split_node_id(text: str) -> tuple[str | None, str]:
    """``("PROVIDER", "PRV-1")`` for ``"PROVIDER:PRV-1"``; ``(None, text)`` for a bare entity id."""
    head, sep, rest = text.partition(":")
    if sep and head in ENTITY_TYPES:
        return head, rest
    return None, text


def iso_day(value: str | date | None) -> str | None:
    """A date or date string as ``YYYY-MM-DD`` (None stays None)."""
    if value is None or value == "":
        return None
    from ground.errors import InputRefused

    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        raise InputRefused(f"date {value!r}: expected YYYY-MM-DD") from None


#: fetch(frontier node ids, edge keys already kept, k) -> (the k heaviest new incident edges, how many new ones)
Fetch = Callable[[list[str], set[tuple[str, str, str]], int], tuple[pd.DataFrame, int]]


def walk(start: list[str], hops: int, limit: int, fetch: Fetch) -> tuple[list[str], pd.DataFrame, int]:
    """Walk ``hops`` hops from ``start`` keeping at most ``limit`` edges in all.

    Each hop keeps the heaviest new edges incident to the nodes reached by the
    previous hop's kept edges, up to what is left of ``limit``; the others count
    as omitted and are not expanded.

    Returns
    -------
    (node ids, edges, omitted)
    """
    nodes = list(dict.fromkeys(start))
    seen_nodes = set(nodes)
    frontier = list(nodes)
    kept: list[pd.DataFrame] = []
    keys: set[tuple[str, str, str]] = set()
    omitted = 0
    for _ in range(max(hops, 0)):
        if not frontier:
            break
        room = max(limit - len(keys), 0)
        found, n_new = fetch(frontier, keys, room)
        found = found.head(room)
        omitted += n_new - len(found)
        if not len(found):
            break
        kept.append(found)
        keys.update(zip(found["source"], found["target"], found["edge_type"]))
        frontier = []
        for node in pd.concat([found["source"], found["target"]]).tolist():
            if node not in seen_nodes:
                seen_nodes.add(node)
                nodes.append(node)
                frontier.append(node)
    edges = (pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=list(EDGE_COLUMNS)))
    edges = sort_heaviest(edges)
    return nodes, edges, omitted


def sort_heaviest(edges: pd.DataFrame) -> pd.DataFrame:
    """Edges by amount descending, ties by (source, target, edge_type): a deterministic order."""
    return edges.sort_values(["amount", "source", "target", "edge_type"], ascending=[False, True, True, True],
                             kind="stable", ignore_index=True)
