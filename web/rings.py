"""Ranked rings with filters and paging, and one ring's page."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from flask import Blueprint, current_app, render_template

from casework.cases import STATUSES
from ground.errors import NotFound
from web.context import (CLAIM_PERSONAL_COLUMNS, audit, cases, claims_store, current_run_id, graph_store, runs,
                         show_case, show_frame, show_id)
from web.data import ring_claims, ring_elements, split_node_id, timeline_svg
from web.params import arg, check_id

__all__ = ["bp", "ring_filters", "filter_rings", "load_ring", "ring_graph", "page_of", "RING_FILTERS"]

bp = Blueprint("rings", __name__)
RING_FILTERS = ("min_score", "region", "regime", "scenario", "status")


def ring_filters() -> dict[str, Any]:
    """The ring filters of this request's query string, checked (:mod:`web.params`); absent ones left out."""
    values = {name: arg(name) for name in RING_FILTERS}
    return {k: v for k, v in values.items() if v not in (None, "")}


def filter_rings(rings: pd.DataFrame, filters: dict[str, Any], statuses: dict[str, str]) -> pd.DataFrame:
    """Rings kept by the filters (min_score, region, regime, scenario, status), with a ``case_status`` column.

    ``status`` ``none`` keeps rings without a case.
    """
    out = rings.assign(case_status=[statuses.get(r) for r in rings["ring_id"]])
    if filters.get("min_score") is not None:
        out = out[out["score"] >= float(filters["min_score"])]
    for name in ("region", "regime"):
        if filters.get(name):
            col = out[name + "s"].fillna("")
            out = out[[filters[name] in str(v).split(",") for v in col]]
    if filters.get("scenario"):
        out = out[out["scenario"].fillna("") == filters["scenario"]]
    if filters.get("status"):
        if filters["status"] == "none":
            out = out[out["case_status"].isna()]
        else:
            out = out[out["case_status"] == filters["status"]]
    return out


def page_of(frame: pd.DataFrame, page: int, size: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """One page of a frame (a page past the last shows the last), and {page, pages, total, size}.

    ``page`` and ``size`` come checked from :func:`web.params.arg` (both at least 1).
    """
    total = len(frame)
    pages = max(1, math.ceil(total / size))
    page = min(page, pages)
    return frame.iloc[(page - 1) * size: page * size], {"page": page, "pages": pages, "total": total, "size": size}


def load_ring(run_id: str, ring_id: str) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """(ring, members, claims) of one ring, unpseudonymised; claims cached per claims-store state."""
    ring = runs().ring(run_id, check_id("ring", ring_id))
    members = runs().members(run_id, ring_id)
    run = runs().run(run_id)
    claims = ring_claims(claims_store(), members, window=(run.get("window_from"), run.get("window_to")),
                         cache=current_app.extensions["shabaka_ring_cache"], key=(run_id, ring_id))
    return ring, members, claims


def ring_graph(members: pd.DataFrame, claims: pd.DataFrame) -> list[dict[str, Any]]:
    """Cytoscape elements of a ring, as the signed-in user may see them."""
    extra = None
    store = graph_store() if (members["entity_type"] == "INTERMEDIARY").any() else None
    if store is not None:
        found = []
        for ident in members.loc[members["entity_type"] == "INTERMEDIARY", "entity_id"]:
            try:
                found.append(store.neighbourhood(f"INTERMEDIARY:{ident}", hops=1, limit=100).edges)
            except NotFound:
                continue
        if found:
            extra = pd.concat(found, ignore_index=True).reindex(columns=["source", "target", "edge_type", "amount"])
            extra = _show_edges(extra)
    return ring_elements(show_frame(members, type_column="entity_type", id_column="entity_id"),
                         show_frame(claims, CLAIM_PERSONAL_COLUMNS), extra)


def _show_edges(edges: pd.DataFrame) -> pd.DataFrame:
    def shown(node_id: str) -> str:
        kind, ident = split_node_id(str(node_id))
        return f"{kind}:{show_id(kind, ident)}"
    return edges.assign(source=[shown(s) for s in edges["source"]], target=[shown(t) for t in edges["target"]])


@bp.route("/rings")
def ring_list():
    """Ranked rings of a run (latest by default), filtered and paged."""
    run_id = current_run_id(arg("run"))
    filters = ring_filters()
    page_no = arg("page", 1)
    rings = runs().rings(run_id)
    kept = filter_rings(rings, filters, cases().statuses())
    page, paging = page_of(kept, page_no, current_app.config["PAGE_SIZE"])
    choices = {
        "regions": sorted({r for v in rings["regions"].dropna() for r in str(v).split(",") if r}),
        "regimes": sorted({r for v in rings["regimes"].dropna() for r in str(v).split(",") if r}),
        "scenarios": sorted(rings["scenario"].dropna().unique()),
        "statuses": STATUSES,
    }
    audit("view_rings", run_id=run_id, filters=filters, page=paging["page"])
    args = {k: ("" if filters.get(k) is None else filters[k]) for k in RING_FILTERS}
    return render_template("rings.html", run_id=run_id, rings=page.to_dict("records"), paging=paging,
                           args=args, choices=choices, total_rings=len(rings))


@bp.route("/rings/<ring_id>")
def ring_page(ring_id: str):
    """One ring: graph (drawn by ring.js from the API), members, timeline, claims, case."""
    run_id = current_run_id(arg("run"))
    page_no = arg("cpage", 1)
    ring, members, claims = load_ring(run_id, ring_id)
    shown_claims = show_frame(claims, CLAIM_PERSONAL_COLUMNS)
    page, paging = page_of(shown_claims, page_no, current_app.config["PAGE_SIZE"])
    case = show_case(cases().get(ring_id))
    audit("view_ring", run_id=run_id, ring_id=ring_id, claims_page=paging["page"])
    return render_template(
        "ring.html", run_id=run_id, ring=ring,
        members=show_frame(members, type_column="entity_type", id_column="entity_id").to_dict("records"),
        claims=page.to_dict("records"), paging=paging, timeline=timeline_svg(claims), case=case,
        claims_available=claims_store() is not None, claim_total=float(claims["amount_claimed"].sum()),
        export_available=_export_available(), statuses=STATUSES,
    )


def _export_available() -> bool:
    try:
        from export import export_ring  # noqa: F401
    except ImportError:
        return False
    return True
