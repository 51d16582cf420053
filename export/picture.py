"""Pictures for the report: the ring's network and its timeline, drawn with matplotlib.

Figures are made with :class:`matplotlib.figure.Figure` (no pyplot, no global
backend) and saved without dates, so the same ring gives the same bytes.

Ids come from claim files, so anyone billing the fund chooses them: every text is
drawn as plain text (no mathtext, no TeX), made and saved under :data:`PLAIN_TEXT`,
so an id such as ``$x^$`` is printed as written instead of failing the export.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import wraps

import matplotlib
import networkx as nx
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["network_figure", "timeline_figure", "to_png", "to_svg", "NODE_COLOURS", "LAYOUT_SEED", "PLAIN_TEXT"]

#: Settings every figure is made and saved under: text is never parsed as math or TeX.
PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}

LAYOUT_SEED = 7
NODE_COLOURS: dict[str, str] = {
    "BENEFICIARY": "#9ecae1",
    "PROVIDER": "#d62728",
    "DOCTOR": "#ff7f0e",
    "INTERMEDIARY": "#6a3d9a",
    "PHONE": "#2ca02c",
    "ACCOUNT": "#8c564b",
    "SUBMISSION_POINT": "#7f7f7f",
    "REFERRER": "#e377c2",
}
# Beneficiaries are many; their labels would hide the picture.
_UNLABELLED = {"BENEFICIARY"}


def _plain_text(draw: Callable) -> Callable:
    """Run ``draw`` with :data:`PLAIN_TEXT` (texts read it when made; tick labels when drawn)."""
    @wraps(draw)
    def plain(*args, **kwargs):
        with matplotlib.rc_context(PLAIN_TEXT):
            return draw(*args, **kwargs)
    return plain


@_plain_text
def network_figure(G: nx.Graph, *, title: str = "") -> Figure:
    """Draw ``G`` (node attr ``node_type``, ``entity_id``; edge attr ``weight``) with a seeded spring layout."""
    fig = Figure(figsize=(8, 6), dpi=110)
    ax = fig.subplots()
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    if G.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "empty graph", ha="center", va="center")
        return fig
    H = nx.Graph()
    H.add_nodes_from(sorted(G.nodes(data=True), key=lambda item: str(item[0])))
    H.add_edges_from(sorted(((str(u), str(v), d) for u, v, d in G.edges(data=True)), key=lambda e: (e[0], e[1])))
    pos = nx.spring_layout(H, seed=LAYOUT_SEED, weight=None)
    types = [H.nodes[n].get("node_type", "") for n in H.nodes]
    strength = dict(H.degree(weight=None))
    nx.draw_networkx_edges(H, pos, ax=ax, edge_color="#bbbbbb", width=0.8)
    nx.draw_networkx_nodes(
        H, pos, ax=ax, node_color=[NODE_COLOURS.get(t, "#cccccc") for t in types],
        node_size=[60 + 25 * strength[n] for n in H.nodes], linewidths=0.5, edgecolors="#333333",
    )
    labels = {n: str(H.nodes[n].get("entity_id", n)) for n in H.nodes if H.nodes[n].get("node_type") not in _UNLABELLED}
    nx.draw_networkx_labels(H, pos, labels=labels, ax=ax, font_size=7)
    present = [t for t in NODE_COLOURS if t in set(types)]
    for t in present:
        ax.scatter([], [], color=NODE_COLOURS[t], label=t.lower().replace("_", " "), s=30)
    if present:
        ax.legend(loc="lower left", fontsize=7, frameon=False)
    return fig


@_plain_text
def timeline_figure(days: pd.DataFrame) -> Figure:
    """Bars of amount claimed per service day (``days`` from :func:`evidence.timeline`)."""
    fig = Figure(figsize=(8, 2.6), dpi=110)
    ax = fig.subplots()
    if len(days):
        # Categorical positions: a one-day ring would otherwise get an axis in hours.
        positions = list(range(len(days)))
        ax.bar(positions, days["amount"], width=0.8, color="#d62728")
        step = max(1, len(days) // 12)
        ax.set_xticks(positions[::step], list(days["date"])[::step], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("MAD / day")
    ax.set_title("amount claimed per day / montant réclamé par jour", fontsize=9)
    fig.tight_layout()
    return fig


@_plain_text
def to_png(fig: Figure) -> bytes:
    """PNG bytes without software or date metadata."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


@_plain_text
def to_svg(fig: Figure) -> str:
    """An ``<svg>`` element (no XML prolog), text kept as text, fixed ids, no date."""
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "shabaka"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue().decode("utf-8")
    return text[text.index("<svg"):]
