"""The JSON API behind the pages (GET only, same session as the pages).

Every personal identifier is pseudonymised for analysts exactly as on the pages.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from flask import Blueprint, current_app, request

from ground.errors import InputRefused, NotFound
from web.context import (CLAIM_PERSONAL_COLUMNS, audit, cases, claims_store, current_run_id, graph_store, runs,
                         settings, show_frame, show_id)
from web.data import split_node_id
from web.entities import real_node_id, search_entities
from web.neighbourhood import neighbourhood_from_claims, neighbourhood_from_graph
from web.rings import RING_FILTERS, filter_rings, load_ring, page_of, ring_graph

__all__ = ["bp"]

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_HOPS = 3


@bp.route("/runs")
def api_runs():
    audit("api_runs")
    return {"runs": _records(runs().runs().drop(columns=["params_json", "batches_json"], errors="ignore"))}


@bp.route("/rings")
def api_rings():
    run_id = current_run_id(request.args.get("run"))
    args = {k: request.args.get(k, "").strip() for k in RING_FILTERS}
    kept = filter_rings(runs().rings(run_id), args, cases().statuses())
    page, paging = page_of(kept.drop(columns=["extra_json"], errors="ignore"), request.args.get("page"),
                           current_app.config["PAGE_SIZE"])
    audit("api_rings", run_id=run_id, page=paging["page"])
    return {"run_id": run_id, "rings": _records(page), **paging}


@bp.route("/rings/<ring_id>")
def api_ring(ring_id: str):
    run_id = current_run_id(request.args.get("run"))
    ring, members, claims = load_ring(run_id, ring_id)
    audit("api_ring", run_id=run_id, ring_id=ring_id)
    return {"run_id": run_id, "ring": _clean(ring),
            "members": _records(show_frame(members, type_column="entity_type", id_column="entity_id")),
            "elements": ring_graph(members, claims), "case": cases().get(ring_id)}


@bp.route("/rings/<ring_id>/claims")
def api_ring_claims(ring_id: str):
    run_id = current_run_id(request.args.get("run"))
    _, _, claims = load_ring(run_id, ring_id)
    size = min(_int_arg("size", current_app.config["PAGE_SIZE"]), 500)
    page, paging = page_of(claims, request.args.get("page"), size)
    audit("api_ring_claims", run_id=run_id, ring_id=ring_id, page=paging["page"])
    return {"run_id": run_id, "ring_id": ring_id, "claims": _records(show_frame(page, CLAIM_PERSONAL_COLUMNS)),
            **paging}


@bp.route("/entities/<path:node_id>/neighbourhood")
def api_neighbourhood(node_id: str):
    """A node's neighbourhood: ``hops`` (1-3), ``limit`` edges, ``from``/``to`` dates."""
    real = real_node_id(node_id)
    hops = min(max(_int_arg("hops", 1), 1), MAX_HOPS)
    limit = min(max(_int_arg("limit", int(settings().neighbourhood_limit)), 1), 2000)
    start, end = (request.args.get(k) or None for k in ("from", "to"))
    for value in (start, end):
        if value is not None:
            try:
                pd.Timestamp(value)
            except ValueError:
                raise InputRefused(f"date {value!r}: expected YYYY-MM-DD") from None
    store = graph_store()
    nb = None
    if store is not None:
        try:
            nb = neighbourhood_from_graph(store, real, hops=hops, limit=limit, start=start, end=end)
            source = "graph"
        except NotFound:
            # Not in the stored graph (built from another window, or not built yet): ask the claims.
            if claims_store() is None:
                raise
    if nb is None:
        claims = claims_store()
        frame = claims.claims(start, end) if claims is not None else pd.DataFrame()
        nb = neighbourhood_from_claims(frame, real, hops=hops, limit=limit)
        source = "claims"
    audit("api_neighbourhood", node_id=real, hops=hops, limit=limit, start=start, end=end)
    return {"node_id": node_id, "source": source, "omitted": nb["omitted"],
            "nodes": [_show_node(n) for n in nb["nodes"]], "edges": [_show_edge(e) for e in nb["edges"]]}


@bp.route("/search")
def api_search():
    results = search_entities(request.args.get("q", ""), limit=min(_int_arg("limit", 20), 100))
    audit("api_search", n_results=len(results))
    return {"results": results}


@bp.route("/cases")
def api_cases():
    audit("api_cases")
    return {"cases": cases().cases(request.args.get("status") or None)}


def _shown_node_id(node_id: str) -> str:
    kind, ident = split_node_id(node_id)
    return f"{kind}:{show_id(kind, ident)}"


def _show_node(node: dict[str, Any]) -> dict[str, Any]:
    shown = show_id(node["type"], node["entity_id"])
    label = shown if shown != node["entity_id"] else node["label"]
    return {**node, "id": _shown_node_id(node["id"]), "entity_id": shown, "label": label}


def _show_edge(edge: dict[str, Any]) -> dict[str, Any]:
    source, target = _shown_node_id(edge["source"]), _shown_node_id(edge["target"])
    return {**edge, "id": f"{source}|{target}", "source": source, "target": target}


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise InputRefused(f"{name} {value!r}: expected a whole number") from None


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_clean(r) for r in frame.to_dict("records")]
