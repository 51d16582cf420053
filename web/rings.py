"""Ranked rings with filters and paging, and one ring's page."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from flask import Blueprint, current_app, render_template

from casework.cases import STATUSES
from graph.build import node_id
from graph.ring import ring_graph as build_ring_graph
from export.sentences import detector_notes, member_sentences, ring_summary
from ground.errors import NotFound
from ingest.schema import CLAIM_COLUMNS
from web.context import (CLAIM_PERSONAL_COLUMNS, audit, cases, claims_store, current_run_id, graph_store, runs,
                         show_case, show_frame, show_id)
from web.data import ring_claims, ring_elements, timeline_svg
from web.params import arg, check_id
from web.story import ring_geography, week_over_week

__all__ = ["bp", "ring_filters", "filter_rings", "load_ring", "explained", "ring_graph", "page_of", "RING_FILTERS"]

bp = Blueprint("rings", __name__)
RING_FILTERS = ("min_score", "region", "regime", "scenario", "status")


def ring_filters() -> dict[str, Any]:
    """The ring filters of this request's query string, checked (:mod:`web.params`); absent ones left out."""
    values = {name: arg(name) for name in RING_FILTERS}
    return {k: v for k, v in values.items() if v not in (None, "")}


def filter_rings(rings: pd.DataFrame, filters: dict[str, Any], statuses: dict[str, str]) -> pd.DataFrame:
    """Rings kept by the filters (min_score, region, regime, scenario, status), with a ``case_status`` column.

    ``status`` ``none`` keeps rings without a case.

    Parameters
    ----------
    rings : DataFrame
        A run's rings.
    args : mapping
        The request's filter values.
    statuses : dict
        Ring id -> case status.
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

    Parameters
    ----------
    frame : DataFrame
    page : int
        1-based.
    size : int
        Rows per page.
    """
    total = len(frame)
    pages = max(1, math.ceil(total / size))
    page = min(page, pages)
    return frame.iloc[(page - 1) * size: page * size], {"page": page, "pages": pages, "total": total, "size": size}


def load_ring(run_id: str, ring_id: str) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """(ring, members, claims) of one ring, unpseudonymised; claims cached per claims-store state.

    Parameters
    ----------
    run_id : str
    ring_id : str
        From the URL.
    """
    ring = runs().ring(run_id, check_id("ring", ring_id))
    members = runs().members(run_id, ring_id)
    run = runs().run(run_id)
    claims = ring_claims(claims_store(), members, window=(run.get("window_from"), run.get("window_to")),
                         cache=current_app.extensions["shabaka_ring_cache"], key=(run_id, ring_id))
    return {**ring, "story": ring_summary(ring, members)}, explained(members, claims), claims


def explained(members: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """``members`` with ``sentence`` (what each did, with numbers, :mod:`export.sentences`) and ``finding``
    (:func:`export.sentences.detector_notes`).

    Parameters
    ----------
    members : DataFrame
        The ring's members.
    claims : DataFrame
        The ring's claim lines.
    """
    return members.assign(sentence=member_sentences(members, claims), finding=detector_notes(members))


def ring_graph(members: pd.DataFrame, claims: pd.DataFrame) -> list[dict[str, Any]]:
    """Cytoscape elements of a ring, as the signed-in user may see them.

    The graph is the evidence bundle's (:func:`graph.ring.ring_graph`) on the ring's
    claim lines, plus the edges the graph store holds for the ring's inferred
    intermediaries (inferring them again would read the whole window).

    Parameters
    ----------
    members : DataFrame
        The ring's members.
    claims : DataFrame
        The ring's claim lines.
    """
    shown = members.assign(evidence=members["sentence"]) if "sentence" in members.columns else members
    G = build_ring_graph(shown, claims.reindex(columns=list(CLAIM_COLUMNS)))
    store = graph_store() if (members["entity_type"] == "INTERMEDIARY").any() else None
    for ident in members.loc[members["entity_type"] == "INTERMEDIARY", "entity_id"] if store is not None else ():
        try:
            edges = store.neighbourhood(node_id("INTERMEDIARY", str(ident)), hops=1, limit=100).edges
        except NotFound:
            continue
        for rec in edges.itertuples(index=False):
            if rec.source in G and rec.target in G and not G.has_edge(rec.source, rec.target):
                G.add_edge(rec.source, rec.target, edge_type=rec.edge_type, n_claims=0,
                           amount=float(rec.amount or 0.0))
    return ring_elements(G, show_id)


@bp.route("/rings")
def ring_list():
    """Ranked rings of a run (latest by default), filtered and paged."""
    run_id = current_run_id(arg("run"))
    filters = ring_filters()
    page_no = arg("page", 1)
    rings = runs().rings(run_id)
    kept = filter_rings(rings, filters, cases().statuses())
    page, paging = page_of(kept, page_no, current_app.config["PAGE_SIZE"])
    members = runs().members(run_id)
    by_ring = dict(tuple(members.groupby("ring_id", sort=False))) if len(members) else {}
    records = [{**r, "story": ring_summary({**r, "extra": json.loads(r.get("extra_json") or "{}")},
                                           by_ring.get(r["ring_id"], members.iloc[:0]))}
               for r in page.to_dict("records")]
    choices = {
        "regions": sorted({r for v in rings["regions"].dropna() for r in str(v).split(",") if r}),
        "regimes": sorted({r for v in rings["regimes"].dropna() for r in str(v).split(",") if r}),
        "scenarios": sorted(rings["scenario"].dropna().unique()),
        "statuses": STATUSES,
    }
    audit("view_rings", run_id=run_id, filters=filters, page=paging["page"])
    args = {k: ("" if filters.get(k) is None else filters[k]) for k in RING_FILTERS}
    return render_template("rings.html", run_id=run_id, rings=records, paging=paging,
                           args=args, choices=choices, total_rings=len(rings))


@bp.route("/rings/<ring_id>")
def ring_page(ring_id: str):
    """One ring: graph (drawn by ring.js from the API), members, timeline, claims, case.

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    run_id = current_run_id(arg("run"))
    page_no = arg("cpage", 1)
    ring, members, claims = load_ring(run_id, ring_id)
    shown_claims = show_frame(claims, CLAIM_PERSONAL_COLUMNS)
    page, paging = page_of(shown_claims, page_no, current_app.config["PAGE_SIZE"])
    case = show_case(cases().get(ring_id))
    geography = ring_geography(runs().run(run_id), members, claims)
    change = week_over_week(run_id, ring, members)
    audit("view_ring", run_id=run_id, ring_id=ring_id, claims_page=paging["page"])
    return render_template(
        "ring.html", run_id=run_id, ring=ring, geography=geography, change=change,
        members=show_frame(members, type_column="entity_type", id_column="entity_id").to_dict("records"),
        claims=page.to_dict("records"), paging=paging, timeline=timeline_svg(claims), case=case,
        claim_total=float(claims["amount_claimed"].sum()), statuses=STATUSES,
    )

