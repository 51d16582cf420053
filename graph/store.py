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

from graph.build import EDGE_COLUMNS, ClaimsGraph, claim_edges, frames_to_networkx
from ground.errors import InputRefused
from ingest.schema import ENTITY_COLUMNS, ENTITY_TYPES

__all__ = ["GraphStore", "Neighbourhood", "open_graph_store", "walk", "claims_neighbourhood", "split_node_id",
           "iso_day"]


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
        """Replace the stored graph with ``graph``.

        Parameters
        ----------
        graph : ClaimsGraph
        """

    def resolve(self, entity_id: str) -> list[str]:
        """Node ids meant by a node id or a bare entity id; NotFound when none.

        Parameters
        ----------
        entity_id : str
        """

    def neighbourhood(self, entity_id: str, *, hops: int = 1, limit: int = 200,
                      start: str | date | None = None, end: str | date | None = None) -> Neighbourhood:
        """The subgraph within ``hops`` of an entity, at most ``limit`` edges, heaviest first.

        Parameters
        ----------
        entity_id : str
            ``TYPE:id`` or a bare id.
        hops : int
        limit : int
            Most edges kept.
        start, end : str or date, optional
            Keep edges with service dates in this window.
        """

    def search(self, text: str, limit: int = 20, *, types: Iterable[str] | None = None) -> pd.DataFrame:
        """Nodes (of ``types``, default all) whose id starts with ``text`` or whose label contains it.

        Parameters
        ----------
        text : str
        limit : int
            Most nodes returned.
        types : iterable of str, optional
            Only nodes of these types are matched.
        """

    def close(self) -> None:
        """Release the connection."""


def open_graph_store(settings) -> GraphStore:
    """Neo4j when ``settings.neo4j_uri`` is set, else the embedded SQLite store in HOME.

    Parameters
    ----------
    settings : Settings
    """
    if settings.neo4j_uri:
        # Imported only when Neo4j is configured: the driver is an optional dependency, slow to import.
        from graph.neo4j_store import Neo4jGraphStore

        return Neo4jGraphStore.from_settings(settings)
    # Imported here because graph.sqlite_store imports this module's walk and Neighbourhood.
    from graph.sqlite_store import SqliteGraphStore

    return SqliteGraphStore(settings.home_path)


def split_node_id(text: str) -> tuple[str | None, str]:
    """``("PROVIDER", "PRV-1")`` for ``"PROVIDER:PRV-1"``; ``(None, text)`` for a bare entity id.

    Parameters
    ----------
    text : str
    """
    head, sep, rest = text.partition(":")
    if sep and head in ENTITY_TYPES:
        return head, rest
    return None, text


def iso_day(value: str | date | None) -> str | None:
    """A date or date string as ``YYYY-MM-DD`` (None stays None).

    Parameters
    ----------
    value : str or date, optional
    """
    if value is None or value == "":
        return None

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

    Parameters
    ----------
    start : list of str
        Node ids to start from.
    hops : int
    limit : int
        Most edges kept in all.
    fetch : callable
        The store's query for the heaviest incident edges (see :data:`Fetch`).

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


def claims_neighbourhood(read: Callable[[dict[str, set[str]]], pd.DataFrame], node_id: str, *, hops: int,
                         limit: int) -> Neighbourhood:
    """A node's neighbourhood computed from claim lines, for a node no graph store holds.

    The stores' walk (:func:`walk`) over the edges :func:`graph.build.claim_edges`
    makes of the lines read, so the edges are those ``build_graph`` would store for
    the same lines. Each hop reads only the lines of the nodes it reached, never the
    whole claims window.

    Parameters
    ----------
    read : callable
        ``{column: ids} -> lines`` where one of the columns holds one of the ids, with
        the columns :data:`graph.build.CLAIM_EDGE_INPUTS`.
    node_id : str
        The node id to start from (``PROVIDER:PRV-1``).
    hops : int
    limit : int
        Most edges kept in all.

    Returns
    -------
    Neighbourhood
        Nodes with their type and id (the id as label); no intermediaries' edges, as
        inferring them needs the whole window.
    """
    def fetch(frontier: list[str], seen: set[tuple[str, str, str]], room: int) -> tuple[pd.DataFrame, int]:
        wanted: dict[str, set[str]] = {}
        for node in frontier:
            kind, ident = split_node_id(node)
            if kind in ENTITY_COLUMNS:
                wanted.setdefault(ENTITY_COLUMNS[kind], set()).add(ident)
        lines = read(wanted) if wanted else None
        if lines is None or lines.empty:
            return pd.DataFrame(columns=list(EDGE_COLUMNS)), 0
        edges = claim_edges(lines)
        reached = set(frontier)
        edges = edges[(edges["source"].isin(reached) | edges["target"].isin(reached)).to_numpy(bool)]
        if seen:
            edges = edges[[k not in seen for k in zip(edges["source"], edges["target"], edges["edge_type"])]]
        return sort_heaviest(edges).head(room), len(edges)

    node_ids, edges, omitted = walk([node_id], hops, limit, fetch)
    kinds, idents = zip(*(split_node_id(n) for n in node_ids))
    nodes = pd.DataFrame({"node_id": node_ids, "node_type": kinds, "entity_id": idents, "label": idents})
    return Neighbourhood(nodes=nodes, edges=edges, omitted=omitted, start=[node_id])


def sort_heaviest(edges: pd.DataFrame) -> pd.DataFrame:
    """Edges by amount descending, ties by (source, target, edge_type): a deterministic order.

    Parameters
    ----------
    edges : DataFrame
        With amount, source, target, edge_type.
    """
    return edges.sort_values(["amount", "source", "target", "edge_type"], ascending=[False, True, True, True],
                             kind="stable", ignore_index=True)
