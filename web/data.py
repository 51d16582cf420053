"""What the pages show, computed from the stores: a ring's claims, its graph, its timeline.

Nothing here runs detection; it only reads stored findings and claims. A ring's
claims are cached per ring and claims-store state, since batches are immutable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from export.evidence import ring_claims as tying_claims
from ground.errors import NotFound
from ingest.schema import ENTITY_COLUMNS

__all__ = [
    "EDGE_PAIRS", "TYPE_COLOURS", "split_node_id", "ring_claims", "ring_elements",
    "timeline_svg", "RingClaimsCache",
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
CLAIM_VIEW_COLUMNS = [
    "claim_id", "line_no", "service_date", "beneficiary_id", "household_id", "regime", "provider_id",
    "provider_type", "doctor_id", "act_code", "act_family", "quantity", "amount_claimed", "amount_reimbursed",
    "prior_auth_id", "channel", "submission_point_id", "contact_phone", "payee_account", "referrer_id",
]


def split_node_id(node_id: str) -> tuple[str, str]:
    """``"PROVIDER:PRV-1"`` -> ``("PROVIDER", "PRV-1")``.

    Raises
    ------
    NotFound
        Without a known entity type before the colon, or without an id after it:
        no such node can exist.
    """
    kind, sep, ident = node_id.partition(":")
    if not sep or kind not in TYPE_COLOURS or not ident:
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
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: tuple, frame: pd.DataFrame) -> None:
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
    store : ClaimsStore or None
        None gives an empty frame.
    members : DataFrame
        The ring's members (entity_type, entity_id).
    window : (from, to)
        The run's claims window (ISO dates or None).
    cache, key : optional
        Reuse a frame computed for the same key.
    """
    if store is None:
        return pd.DataFrame(columns=CLAIM_VIEW_COLUMNS)
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


def ring_elements(members: pd.DataFrame, claims: pd.DataFrame,
                  extra_edges: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Cytoscape.js elements of a ring: its members, and the claim links between them.

    Node size follows the amount claimed through the node; edge width the amount
    between its ends. ``extra_edges`` (source, target, edge_type, amount) adds
    links known to the graph store only (an inferred intermediary's, say).
    Identifiers are used as given, so pass pseudonymised frames to analysts.
    """
    node_ids = {f"{t}:{i}" for t, i in zip(members["entity_type"], members["entity_id"])}
    node_amount: dict[str, float] = {}
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for a, b in EDGE_PAIRS:
        ca, cb = ENTITY_COLUMNS[a], ENTITY_COLUMNS[b]
        if claims.empty or ca not in claims or cb not in claims:
            continue
        part = claims[[ca, cb, "claim_id", "amount_claimed"]].dropna(subset=[ca, cb])
        if part.empty:
            continue
        grouped = part.groupby([ca, cb], observed=True).agg(
            n_claims=("claim_id", "nunique"), amount=("amount_claimed", "sum")).reset_index()
        for va, vb, n, amount in grouped.itertuples(index=False):
            sa, sb = f"{a}:{va}", f"{b}:{vb}"
            if sa in node_ids and sb in node_ids:
                edges[(sa, sb)] = {"edge_type": f"{a}-{b}", "n_claims": int(n), "amount": float(amount)}
                node_amount[sa] = node_amount.get(sa, 0.0) + float(amount)
                node_amount[sb] = node_amount.get(sb, 0.0) + float(amount)
    if extra_edges is not None:
        for rec in extra_edges.itertuples(index=False):
            if rec.source in node_ids and rec.target in node_ids and (rec.source, rec.target) not in edges:
                edges[(rec.source, rec.target)] = {"edge_type": rec.edge_type, "n_claims": 0,
                                                   "amount": float(rec.amount or 0.0)}
    elements: list[dict[str, Any]] = []
    for rec in members.itertuples(index=False):
        nid = f"{rec.entity_type}:{rec.entity_id}"
        elements.append({"group": "nodes", "data": {
            "id": nid, "label": str(rec.entity_id), "type": rec.entity_type, "role": rec.role,
            "score": round(float(rec.score), 3), "evidence": rec.evidence,
            "amount": round(node_amount.get(nid, 0.0), 2), "colour": TYPE_COLOURS.get(rec.entity_type, "#999"),
        }})
    for (source, target), data in edges.items():
        elements.append({"group": "edges", "data": {"id": f"{source}|{target}", "source": source,
                                                    "target": target, **data,
                                                    "amount": round(data["amount"], 2)}})
    return elements


def timeline_svg(claims: pd.DataFrame, *, width: int = 860, height: int = 160) -> Markup:
    """A bar chart (inline SVG) of the amount claimed per day, with the line count in each bar's title."""
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
