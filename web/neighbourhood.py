"""An entity's neighbourhood for the viewer: from the graph store, else from the claims.

The graph store answers with the heaviest edges first and says how many it left
out; for an entity of the findings that the stored graph lacks (built from
another window), the same walk runs over the edges graph/ makes of that entity's
claim lines (:func:`graph.store.claims_neighbourhood`). Nodes and edges come back
as plain dicts ready for Cytoscape.js.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from graph.store import Neighbourhood, claims_neighbourhood
from web.data import TYPE_COLOURS, split_node_id

__all__ = ["neighbourhood_from_graph", "neighbourhood_from_claims"]


def neighbourhood_from_graph(store: Any, node_id: str, *, hops: int, limit: int,
                             start: str | None, end: str | None) -> dict[str, Any]:
    """Ask the graph store for a node's neighbourhood; returns {nodes, edges, omitted}.

    Parameters
    ----------
    store : GraphStore
    node_id : str
        The stored node id.
    hops : int
    limit : int
        Most edges.
    start, end : str, optional
        ISO dates of the window.
    """
    return _plain(store.neighbourhood(node_id, hops=hops, limit=limit, start=start, end=end))


def neighbourhood_from_claims(read: Callable[[dict[str, set[str]]], pd.DataFrame], node_id: str, *, hops: int,
                              limit: int) -> dict[str, Any]:
    """A node's neighbourhood computed from claim lines (:func:`graph.store.claims_neighbourhood`).

    The same walk and the same edges (types, directions, aggregates) as the graph
    store's answer; each hop reads only the lines of the nodes it reached.

    Parameters
    ----------
    read : callable
        ``{column: ids} -> lines`` where one of the columns holds one of the ids.
    node_id : str
        The stored node id.
    hops : int
    limit : int
        Most edges.
    """
    return _plain(claims_neighbourhood(read, node_id, hops=hops, limit=limit))


def _plain(nb: Neighbourhood) -> dict[str, Any]:
    """{nodes, edges, omitted} as plain dicts for Cytoscape.js."""
    nodes = [_node(str(r["node_id"]), str(r.get("node_type", split_node_id(str(r["node_id"]))[0])),
                   str(r.get("entity_id", split_node_id(str(r["node_id"]))[1])),
                   r.get("label")) for r in nb.nodes.to_dict("records")]
    edges = [_edge(str(r["source"]), str(r["target"]), str(r.get("edge_type", "")), r.get("n_claims", 0),
                   r.get("amount", 0.0), r.get("first_date"), r.get("last_date")) for r in nb.edges.to_dict("records")]
    return {"nodes": nodes, "edges": edges, "omitted": int(nb.omitted)}


def _node(node_id: str, node_type: str, entity_id: str, label: Any) -> dict[str, Any]:
    label = entity_id if label is None or (isinstance(label, float) and pd.isna(label)) or label == "" else label
    return {"id": node_id, "type": node_type, "entity_id": entity_id, "label": str(label),
            "colour": TYPE_COLOURS.get(node_type, "#999")}


def _edge(source: str, target: str, edge_type: str, n_claims: Any, amount: Any, first: Any, last: Any) -> dict:
    def day(value: Any) -> str | None:
        return None if value is None or pd.isna(value) else str(pd.Timestamp(value).date())
    return {"id": f"{source}|{target}", "source": source, "target": target, "edge_type": edge_type,
            "n_claims": int(n_claims or 0), "amount": round(float(amount or 0.0), 2),
            "first_date": day(first), "last_date": day(last)}
