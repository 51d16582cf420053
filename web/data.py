"""How the pages draw what the stores hold: a ring's graph elements, its timeline, node ids.

Nothing here reads claims: a ring page's data is materialised when its run is
stored (:func:`casework.ringpages.ring_page`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import networkx as nx
import pandas as pd
from markupsafe import Markup, escape

from graph.build import EDGE_TYPES, node_id
from graph.store import split_node_id as parse_node_id
from ground.errors import NotFound

__all__ = [
    "EDGE_PAIRS", "TYPE_COLOURS", "split_node_id", "ring_elements", "timeline_svg",
]

# Which pairs of entities one claim line links (the claims graph's edge kinds).
EDGE_PAIRS = (
    ("BENEFICIARY", "PROVIDER"), ("DOCTOR", "PROVIDER"), ("BENEFICIARY", "PHONE"),
    ("BENEFICIARY", "ACCOUNT"), ("BENEFICIARY", "SUBMISSION_POINT"), ("BENEFICIARY", "REFERRER"),
)
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


def ring_elements(G: nx.Graph, shown: Callable[[str, str], str]) -> list[dict[str, Any]]:
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

    Returns
    -------
    list of dict
        Node elements (id, label, type, role, score, evidence, amount, colour),
        then edge elements (id, source, target, edge_type, n_claims, amount).
    """
    labels = {n: shown(d["node_type"], str(d["entity_id"])) for n, d in G.nodes(data=True)}
    ids = {n: node_id(d["node_type"], labels[n]) for n, d in G.nodes(data=True)}
    elements: list[dict[str, Any]] = []
    for n, d in G.nodes(data=True):
        elements.append({"group": "nodes", "data": {
            "id": ids[n], "label": labels[n], "type": d["node_type"], "role": d.get("role", ""),
            "score": round(float(d.get("member_score", 0.0)), 3), "evidence": d.get("evidence", ""),
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


def timeline_svg(days: list[dict[str, Any]], *, width: int = 860, height: int = 160) -> Markup:
    """A bar chart (inline SVG) per day: the amount at risk, with the amount of lines tying the ring only on top.

    Parameters
    ----------
    days : list of dict
        The ring page's timeline (date, n_lines, n_at_risk, amount_at_risk,
        amount_tie_only; :func:`casework.ringpages.ring_page`).
    width, height : int
        Of the drawing, in pixels.
    """
    if not days:
        return Markup('<p class="muted">No claim lines for this ring in the run\'s window.</p>')
    frame = pd.DataFrame(days)
    frame.index = pd.to_datetime(frame["date"])
    full = pd.date_range(frame.index.min(), frame.index.max(), freq="D")
    frame = frame.drop(columns=["date"]).reindex(full, fill_value=0)
    pad_left, pad_bottom, pad_top = 70, 24, 10
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    top = float((frame["amount_at_risk"] + frame["amount_tie_only"]).max()) or 1.0
    bar_w = min(max(plot_w / len(frame), 1.0), 40.0)
    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Amount at risk per day" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0.0, 0.5, 1.0):
        y = pad_top + plot_h * (1 - frac)
        parts.append(f'<line x1="{pad_left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{pad_left - 6}" y="{y + 4:.1f}" text-anchor="end">{top * frac:,.0f}</text>')
    for i, (day, rec) in enumerate(frame.iterrows()):
        risky, tie = float(rec["amount_at_risk"]), float(rec["amount_tie_only"])
        h_risk, h_tie = plot_h * risky / top, plot_h * tie / top
        x = pad_left + i * bar_w
        title = escape(f"{day:%Y-%m-%d}: {risky:,.2f} MAD at risk ({int(rec['n_at_risk'])} lines)"
                       + (f", {tie:,.2f} MAD tying the ring only" if tie else ""))
        w = max(bar_w - 1, 0.8)
        parts.append(f'<g><title>{title}</title><rect class="at-risk" x="{x:.1f}" y="{pad_top + plot_h - h_risk:.1f}" '
                     f'width="{w:.1f}" height="{h_risk:.1f}"/>')
        if tie:
            parts.append(f'<rect class="tie-only" x="{x:.1f}" y="{pad_top + plot_h - h_risk - h_tie:.1f}" '
                         f'width="{w:.1f}" height="{h_tie:.1f}"/>')
        parts.append("</g>")
    first, last = frame.index.min(), frame.index.max()
    parts.append(f'<text x="{pad_left}" y="{height - 6}">{first:%Y-%m-%d}</text>'
                 f'<text x="{width - 10}" y="{height - 6}" text-anchor="end">{last:%Y-%m-%d}</text></svg>')
    return Markup("".join(parts))
