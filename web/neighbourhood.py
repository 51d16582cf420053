"""An entity's neighbourhood for the viewer: from the graph store, else from the claims.

The graph store answers with the heaviest edges first and says how many it left
out; for an entity of the findings that the stored graph lacks (built from
another window), the same answer is computed from that entity's claim lines. Nodes and edges come back as
plain dicts ready for Cytoscape.js.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from ingest.schema import ENTITY_COLUMNS
from web.data import EDGE_PAIRS, TYPE_COLOURS, split_node_id

__all__ = ["neighbourhood_from_graph", "neighbourhood_from_claims"]


def neighbourhood_from_graph(store: Any, node_id: str, *, hops: int, limit: int,
                             start: str | None, end: str | None) -> dict[str, Any]:
    """Ask the graph store for a node's neighbourhood; returns {nodes, edges, omitted}."""
    nb = store.neighbourhood(node_id, hops=hops, limit=limit, start=start, end=end)
    nodes = [_node(str(r["node_id"]), str(r.get("node_type", split_node_id(str(r["node_id"]))[0])),
                   str(r.get("entity_id", split_node_id(str(r["node_id"]))[1])),
                   r.get("label")) for r in nb.nodes.to_dict("records")]
    edges = [_edge(str(r["source"]), str(r["target"]), str(r.get("edge_type", "")), r.get("n_claims", 0),
                   r.get("amount", 0.0), r.get("first_date"), r.get("last_date")) for r in nb.edges.to_dict("records")]
    return {"nodes": nodes, "edges": edges, "omitted": int(nb.omitted)}


def neighbourhood_from_claims(read: Callable[[dict[str, set[str]]], pd.DataFrame], node_id: str, *, hops: int,
                              limit: int) -> dict[str, Any]:
    """A node's neighbourhood computed from claim lines, for a node the graph store does not hold.

    Breadth-first, ``hops`` deep; at most ``limit`` edges, heaviest (by amount)
    first; ``omitted`` counts the edges left out. Each hop reads only the lines
    of the nodes it reached (``read({column: ids})`` returns the lines where one
    of those columns holds one of those ids), never the whole claims window.
    """
    kind, ident = split_node_id(node_id)
    frontier = {(kind, ident)}
    seen = set(frontier)
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    omitted = 0
    for _ in range(max(1, hops)):
        wanted: dict[str, set[str]] = {}
        for t, i in frontier:
            if t in ENTITY_COLUMNS:
                wanted.setdefault(ENTITY_COLUMNS[t], set()).add(i)
        claims = read(wanted) if wanted else pd.DataFrame()
        found: list[dict[str, Any]] = []
        for a, b in EDGE_PAIRS:
            for here, there in ((a, b), (b, a)):
                keys = [i for t, i in frontier if t == here]
                col_here, col_there = ENTITY_COLUMNS[here], ENTITY_COLUMNS[there]
                if not keys or col_here not in claims or col_there not in claims:
                    continue
                part = claims.loc[claims[col_here].isin(keys), [col_here, col_there, "claim_id", "amount_claimed",
                                                                "service_date"]].dropna(subset=[col_there])
                if part.empty:
                    continue
                grouped = part.groupby([col_here, col_there], observed=True).agg(
                    n_claims=("claim_id", "nunique"), amount=("amount_claimed", "sum"),
                    first=("service_date", "min"), last=("service_date", "max")).reset_index()
                for vh, vt, n, amount, first, last in grouped.itertuples(index=False):
                    src, dst = (f"{here}:{vh}", f"{there}:{vt}") if here == a else (f"{there}:{vt}", f"{here}:{vh}")
                    found.append({"source": src, "target": dst, "edge_type": f"{a}-{b}", "n_claims": int(n),
                                  "amount": float(amount), "first_date": first, "last_date": last,
                                  "_next": (there, str(vt))})
        found.sort(key=lambda e: (-e["amount"], e["source"], e["target"]))
        room = limit - len(edges)
        fresh = [e for e in found if (e["source"], e["target"]) not in edges]
        omitted += max(0, len(fresh) - room)
        next_frontier = set()
        for e in fresh[:max(room, 0)]:
            edges[(e["source"], e["target"])] = e
            if e["_next"] not in seen:
                seen.add(e["_next"])
                next_frontier.add(e["_next"])
        frontier = next_frontier
        if not frontier:
            break
    node_keys = {node_id} | {e["source"] for e in edges.values()} | {e["target"] for e in edges.values()}
    nodes = [_node(n, *split_node_id(n), None) for n in sorted(node_keys)]
    return {"nodes": nodes,
            "edges": [_edge(e["source"], e["target"], e["edge_type"], e["n_claims"], e["amount"], e["first_date"],
                            e["last_date"]) for e in edges.values()],
            "omitted": omitted}


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
