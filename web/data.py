"""How the pages draw what the stores hold: a ring's graph elements, node ids.

Nothing here reads claims: a ring page's data is materialised when its run is
stored (:func:`casework.ringpages.ring_page`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import networkx as nx

from graph.build import EDGE_TYPES, node_id
from graph.store import split_node_id as parse_node_id
from ground.errors import NotFound

__all__ = [
    "TYPE_COLOURS", "split_node_id", "ring_elements", "shown_elements",
]

TYPE_COLOURS = {
    "PROVIDER": "#1f5fa8", "DOCTOR": "#2a9d8f", "BENEFICIARY": "#e9a23b", "INTERMEDIARY": "#c0392b",
    "PHONE": "#8e44ad", "ACCOUNT": "#6d4c41", "SUBMISSION_POINT": "#607d8b", "REFERRER": "#d35400",
}
def split_node_id(node_id: str) -> tuple[str, str]:
    """``"PROVIDER:PRV-1"`` -> ``("PROVIDER", "PRV-1")``, parsed by :func:`graph.store.split_node_id`.

    Parameters
    ----------
    node_id : str

    Raises
    ------
    NotFound
        Without a known entity type before the colon, or without an id after it:
        no such node can exist.
    """
    kind, ident = parse_node_id(node_id)
    if kind is None or not ident:
        raise NotFound(f"entity {node_id[:80]!r} not found: expected TYPE:id with TYPE one of "
                       f"{', '.join(TYPE_COLOURS)}")
    return kind, ident


def ring_elements(G: nx.Graph, shown: Callable[[str, str], str],
                  evidence: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Cytoscape.js elements of a ring's graph (:func:`graph.ring.ring_graph`, the bundle's graph).

    Node size follows the amount claimed through the node in the ring's lines; edge
    width the amount between its ends. Each edge runs from the end of its type's
    source node type (:data:`graph.build.EDGE_TYPES`).

    Parameters
    ----------
    G : networkx.Graph
        The ring's graph, with stored node ids.
    shown : callable
        ``(entity_type, entity_id) -> id`` as the signed-in user may see it
        (pseudonyms for analysts).
    evidence : dict, optional
        Node id -> text shown as the node's evidence instead of the graph's (what a member did).

    Returns
    -------
    list of dict
        Node elements (id, label, type, role, score, evidence, amount, colour),
        then edge elements (id, source, target, edge_type, n_claims, amount).
    """
    evidence = evidence or {}
    labels = {n: shown(d["node_type"], str(d["entity_id"])) for n, d in G.nodes(data=True)}
    ids = {n: node_id(d["node_type"], labels[n]) for n, d in G.nodes(data=True)}
    elements: list[dict[str, Any]] = []
    for n, d in G.nodes(data=True):
        elements.append({"group": "nodes", "data": {
            "id": ids[n], "label": labels[n], "type": d["node_type"], "role": d.get("role", ""),
            "score": round(float(d.get("member_score", 0.0)), 3), "evidence": evidence.get(n) or d.get("evidence", ""),
            "amount": round(float(d.get("amount") or 0.0), 2), "colour": TYPE_COLOURS.get(d["node_type"], "#999"),
        }})
    for a, b, d in G.edges(data=True):
        if G.nodes[a]["node_type"] != EDGE_TYPES.get(d["edge_type"], ("",))[0]:
            a, b = b, a
        source, target = ids[a], ids[b]
        elements.append({"group": "edges", "data": {
            "id": f"{source}|{target}", "source": source, "target": target, "edge_type": d["edge_type"],
            "n_claims": int(d.get("n_claims") or 0), "amount": round(float(d.get("amount") or 0.0), 2),
        }})
    return elements


def shown_elements(elements: list[dict[str, Any]], shown: Callable[[str, str], str]) -> list[dict[str, Any]]:
    """Elements :func:`ring_elements` made with stored ids, with each id as the signed-in user may see it.

    Parameters
    ----------
    elements : list of dict
        Made with ``shown`` the identity (as stored with the run's ring pages).
    shown : callable
        ``(entity_type, entity_id) -> id`` (pseudonyms for analysts).
    """
    ids: dict[str, str] = {}
    out = []
    for el in elements:
        d = el["data"]
        if el["group"] == "nodes":
            label = shown(d["type"], d["label"])
            ids[d["id"]] = node_id(d["type"], label)
            out.append({**el, "data": {**d, "id": ids[d["id"]], "label": label}})
        else:
            source, target = ids[d["source"]], ids[d["target"]]
            out.append({**el, "data": {**d, "id": f"{source}|{target}", "source": source, "target": target}})
    return out
