"""What the pages show, computed from the stores: a ring's claims, its graph, its timeline.

Nothing here runs detection; it only reads stored findings and claims. A ring's
claims are cached per ring and claims-store state, since batches are immutable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import networkx as nx
import pandas as pd
from markupsafe import Markup, escape

from export.evidence import ring_claims as tying_claims
from graph.build import EDGE_TYPES, node_id
from graph.store import split_node_id as parse_node_id
from ground.errors import NotFound
from ingest.schema import ENTITY_COLUMNS

__all__ = [
    "TYPE_COLOURS", "split_node_id", "ring_claims", "ring_elements",
    "timeline_svg", "RingClaimsCache",
]

TYPE_COLOURS = {
    "PROVIDER": "#1f5fa8", "DOCTOR": "#2a9d8f", "BENEFICIARY": "#e9a23b", "INTERMEDIARY": "#c0392b",
    "PHONE": "#8e44ad", "ACCOUNT": "#6d4c41", "SUBMISSION_POINT": "#607d8b", "REFERRER": "#d35400",
}
CLAIM_VIEW_COLUMNS = [
    "claim_id", "line_no", "service_date", "beneficiary_id", "household_id", "regime", "beneficiary_region",
    "provider_id", "provider_type", "provider_region", "doctor_id", "act_code", "act_family", "quantity", "amount_claimed", "amount_reimbursed",
    "prior_auth_id", "channel", "submission_point_id", "contact_phone", "payee_account", "referrer_id",
]


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


class RingClaimsCache:
    """A small, thread-safe LRU of ring claim frames keyed by (run, ring, claims batches)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._data: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> pd.DataFrame | None:
        """The frame cached under ``key`` (now the most recent), or None.

        Parameters
        ----------
        key : tuple
        """
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: tuple, frame: pd.DataFrame) -> None:
        """Cache ``frame`` under ``key``, dropping the least recently used beyond ``size``.

        Parameters
        ----------
        key : tuple
        frame : DataFrame
        """
        with self._lock:
            self._data[key] = frame
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def ring_claims(store: Any, members: pd.DataFrame, *, window: tuple[str | None, str | None] = (None, None),
                cache: RingClaimsCache | None = None, key: tuple | None = None) -> pd.DataFrame:
    """The claim lines that tie a ring's members together, newest first.

    The rule of the evidence bundle (:func:`export.evidence.ring_claims`):
    lines of the ring's beneficiaries (or phones, accounts, referrers, submission
    points) at the ring's providers and doctors; lines of its providers when the
    ring names no patient; lines of its patients when it names no provider.

    Parameters
    ----------
    store : ClaimsStore
    members : DataFrame
        The ring's members (entity_type, entity_id).
    window : (from, to)
        The run's claims window (ISO dates or None).
    cache, key : optional
        Reuse a frame computed for the same key.
    """
    if cache is not None and key is not None:
        batches = tuple(store.batches()["batch_id"].astype(str))
        full_key = (*key, batches)
        hit = cache.get(full_key)
        if hit is not None:
            return hit

    def ids(*types: str) -> set[str]:
        return set(members.loc[members["entity_type"].isin(types), "entity_id"].astype(str))

    # Read only the lines of the ring's entities, then apply the one rule of the evidence bundle.
    practitioners = ids("PROVIDER", "DOCTOR")
    any_of = {column: practitioners if entity_type in ("PROVIDER", "DOCTOR") else ids(entity_type)
              for entity_type, column in ENTITY_COLUMNS.items()}
    claims = store.claims(window[0], window[1], columns=CLAIM_VIEW_COLUMNS, any_of=any_of)
    out = tying_claims(claims, members, at_risk=False).sort_values(
        ["service_date", "claim_id", "line_no"], ascending=[False, True, True]).reset_index(drop=True)
    if cache is not None and key is not None:
        cache.put(full_key, out)
    return out


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


def timeline_svg(claims: pd.DataFrame, *, width: int = 860, height: int = 160) -> Markup:
    """A bar chart (inline SVG) of the amount claimed per day, with the line count in each bar's title.

    Parameters
    ----------
    claims : DataFrame
        The ring's claim lines.
    width, height : int
        Of the drawing, in pixels.
    """
    if claims.empty:
        return Markup('<p class="muted">No claim lines for this ring in the claims store.</p>')
    days = (claims.assign(day=pd.to_datetime(claims["service_date"]).dt.normalize())
            .groupby("day").agg(amount=("amount_claimed", "sum"), lines=("claim_id", "size")))
    full = pd.date_range(days.index.min(), days.index.max(), freq="D")
    days = days.reindex(full, fill_value=0)
    pad_left, pad_bottom, pad_top = 70, 24, 10
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    top = float(days["amount"].max()) or 1.0
    bar_w = min(max(plot_w / len(days), 1.0), 40.0)
    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Amount claimed per day" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0.0, 0.5, 1.0):
        y = pad_top + plot_h * (1 - frac)
        parts.append(f'<line x1="{pad_left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{pad_left - 6}" y="{y + 4:.1f}" text-anchor="end">{top * frac:,.0f}</text>')
    for i, (day, rec) in enumerate(days.iterrows()):
        h = plot_h * float(rec["amount"]) / top
        x = pad_left + i * bar_w
        title = escape(f"{day:%Y-%m-%d}: {rec['amount']:,.2f} MAD, {int(rec['lines'])} lines")
        parts.append(f'<rect x="{x:.1f}" y="{pad_top + plot_h - h:.1f}" width="{max(bar_w - 1, 0.8):.1f}" '
                     f'height="{h:.1f}"><title>{title}</title></rect>')
    first, last = days.index.min(), days.index.max()
    parts.append(f'<text x="{pad_left}" y="{height - 6}">{first:%Y-%m-%d}</text>'
                 f'<text x="{width - 10}" y="{height - 6}" text-anchor="end">{last:%Y-%m-%d}</text></svg>')
    return Markup("".join(parts))
