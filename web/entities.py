"""Entity search (by id or name) and an entity's page with its expandable neighbourhood."""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Blueprint, redirect, render_template, request, url_for

from ground.errors import InputRefused, NotFound
from web.context import audit, claims_store, graph_store, resolve_id, runs, show_id
from web.data import TYPE_COLOURS, split_node_id
from web.keys import PSEUDONYM_PREFIXES, PSEUDONYMISED_TYPES

__all__ = ["bp", "search_entities", "real_node_id"]

bp = Blueprint("entities", __name__)


def real_node_id(shown_node_id: str) -> str:
    """The stored node id behind the one in a URL (a pseudonym for analysts)."""
    kind, ident = split_node_id(shown_node_id)
    return f"{kind}:{resolve_id(kind, ident)}"


def search_entities(text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Entities whose id or name contains ``text``: graph store first, then findings and providers.

    Results are shown as the user may see them; a pseudonym finds its entity.
    """
    text = text.strip()
    if len(text) < 2:
        raise InputRefused("search: expected at least 2 characters")
    found: dict[str, dict[str, Any]] = {}
    prefix, _, rest = text.partition("~")
    if prefix in PSEUDONYM_PREFIXES and rest:
        kind = PSEUDONYM_PREFIXES[prefix]
        try:
            found[f"{kind}:{resolve_id(kind, text)}"] = {"type": kind, "entity_id": resolve_id(kind, text),
                                                         "label": None}
        except NotFound:
            pass
    store = graph_store()
    if store is not None:
        for rec in store.search(text, limit=limit).to_dict("records"):
            kind = str(rec.get("node_type") or split_node_id(str(rec["node_id"]))[0])
            ident = str(rec.get("entity_id") or split_node_id(str(rec["node_id"]))[1])
            found.setdefault(f"{kind}:{ident}", {"type": kind, "entity_id": ident, "label": rec.get("label")})
    like = f"%{text}%"
    for row in runs().conn.execute(
            "SELECT DISTINCT entity_type, entity_id FROM members WHERE entity_id LIKE ? "
            "UNION SELECT DISTINCT entity_type, entity_id FROM entity_scores WHERE entity_id LIKE ? LIMIT ?",
            (like, like, limit)):
        found.setdefault(f"{row[0]}:{row[1]}", {"type": row[0], "entity_id": row[1], "label": None})
    claims = claims_store()
    if claims is not None and len(found) < limit:
        providers = claims.providers()
        if not providers.empty:
            hay = providers["provider_id"].astype(str) + " " + providers.get("name", pd.Series("", index=providers.index)).fillna("").astype(str)
            for rec in providers[hay.str.contains(text, case=False, regex=False)].head(limit).to_dict("records"):
                kind = "DOCTOR" if str(rec.get("provider_type")) == "DOCTOR" else "PROVIDER"
                found.setdefault(f"{kind}:{rec['provider_id']}", {"type": kind, "entity_id": str(rec["provider_id"]),
                                                                   "label": rec.get("name")})
    out = []
    for item in list(found.values())[:limit]:
        shown = show_id(item["type"], item["entity_id"])
        label = shown if item["type"] in PSEUDONYMISED_TYPES or not item["label"] or pd.isna(item["label"]) \
            else str(item["label"])
        out.append({"node_id": f"{item['type']}:{shown}", "type": item["type"], "entity_id": shown, "label": label,
                    "colour": TYPE_COLOURS.get(item["type"], "#999")})
    return out


@bp.route("/entities")
def search():
    """Search page; a single exact hit goes straight to the entity."""
    text = request.args.get("q", "").strip()
    results = search_entities(text) if text else []
    audit("search", n_results=len(results))
    if len(results) == 1 and results[0]["entity_id"] == text:
        return redirect(url_for("entities.entity", node_id=results[0]["node_id"]))
    return render_template("search.html", q=text, results=results)


@bp.route("/entities/<path:node_id>")
def entity(node_id: str):
    """An entity: its scores and rings in the latest run, and its neighbourhood (entity.js)."""
    real = real_node_id(node_id)
    kind, ident = split_node_id(real)
    run_id = runs().latest_run_id()
    rings, score = [], None
    if run_id:
        rings = runs().rings_of_entity(run_id, ident)
        rings = rings[rings["entity_type"] == kind].to_dict("records")
        row = runs().conn.execute(
            "SELECT score, top_reason FROM entity_scores WHERE run_id = ? AND entity_type = ? AND entity_id = ?",
            (run_id, kind, ident)).fetchone()
        score = dict(row) if row else None
    shown = show_id(kind, ident)
    audit("view_entity", node_id=real)
    return render_template("entity.html", kind=kind, shown=shown, node_id=f"{kind}:{shown}", rings=rings,
                           score=score, run_id=run_id, colour=TYPE_COLOURS.get(kind, "#999"),
                           types=TYPE_COLOURS)
