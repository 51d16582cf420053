"""Ranked rings with filters and paging, and one ring's page."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from flask import Blueprint, current_app, render_template
from markupsafe import Markup

from casework.cases import STATUSES
from casework import ringpages
from export.sentences import ring_summary
from web.context import (CLAIM_PERSONAL_COLUMNS, audit, cases, current_run_id, pseudonymous, runs, settings,
                         show_case, show_id)
from web.data import shown_elements
from web.params import arg, check_id
from web.story import ring_geography, week_over_week

__all__ = ["bp", "ring_filters", "filter_rings", "load_ring", "ring_graph", "show_records",
           "shown_changes", "page_of", "RING_FILTERS", "PAGE_PARTS"]

bp = Blueprint("rings", __name__)
RING_FILTERS = ("min_score", "region", "regime", "scenario", "status")
#: What the ring page reads of its ring pages besides the members: nothing is computed per request.
PAGE_PARTS = ("diff", "timeline_svg", "story.geography", "lines")


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


def load_ring(run_id: str, ring_id: str, parts: tuple[str, ...], *, page: int = 1, size: int | None = None,
              decode: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ring with its one-sentence ``story``, page data) of one ring, unpseudonymised; the data only the
    ``parts`` of the run's ring pages asked for (:func:`casework.ringpages.ring_page`), ``members`` always.

    Parameters
    ----------
    run_id : str
    ring_id : str
        From the URL.
    parts : tuple of str
        The parts read besides ``members``.
    page : int
        Page of claim lines (with ``lines`` in ``parts``).
    size : int, optional
        Lines per page (default the app's page size).
    decode : bool
        False: parts other than ``members`` as their stored JSON text.
    """
    ring = runs().ring(run_id, check_id("ring", ring_id))
    data = ringpages.ring_page(settings().home_path, run_id, ring_id, parts=("members", *parts), page=page,
                               size=size or current_app.config["PAGE_SIZE"], decode=decode)
    if not decode:
        data["members_json"], data["members"] = data["members"], json.loads(data["members"])
    roles = pd.DataFrame({"role": [m["role"] for m in data["members"]]})
    return {**ring, "story": ring_summary(ring, roles)}, data


def ring_graph(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Cytoscape elements of a ring (the evidence bundle's graph, drawn when the run was stored), as this
    user may see them.

    Parameters
    ----------
    data : dict
        :func:`casework.ringpages.ring_page`'s answer with the story's ``elements``.
    """
    elements = data["story"].get("elements") or []
    return shown_elements(elements, show_id) if pseudonymous() else elements


def show_records(records: list[dict[str, Any]], columns: dict[str, str] | None = None,
                 typed: bool = False) -> list[dict[str, Any]]:
    """Records (lines or members of a ring page) with personal ids as this user may see them.

    Parameters
    ----------
    records : list of dict
    columns : dict, optional
        Key -> entity type of the ids it holds (claim lines).
    typed : bool
        Each record says its own ``entity_type`` of its ``entity_id`` (members).
    """
    if not pseudonymous():
        return records
    out = []
    for rec in records:
        rec = dict(rec)
        for key, etype in (columns or {}).items():
            if key in rec:
                rec[key] = show_id(etype, rec[key])
        if typed:
            rec["entity_id"] = show_id(rec["entity_type"], rec["entity_id"])
        out.append(rec)
    return out


def shown_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """A ring's change since the previous run, member ids as this user may see them.

    Parameters
    ----------
    changes : dict
        The ``changes`` of :func:`casework.ringpages.ring_page`.
    """
    out = dict(changes)
    for key in ("members_added", "members_removed"):
        out[key] = [{**m, "entity_id": show_id(m["entity_type"], m["entity_id"])} for m in changes.get(key) or []]
    return out


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
    """One ring: graph (drawn by ring.js from the API), members, timeline, claims, change, case.

    Everything comes from the run's materialised ring pages (:data:`PAGE_PARTS`); no claim is
    read and nothing is computed here but pseudonyms.

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    run_id = current_run_id(arg("run"))
    ring, data = load_ring(run_id, ring_id, PAGE_PARTS, page=arg("cpage", 1))
    case = show_case(cases().get(ring_id))
    audit("view_ring", run_id=run_id, ring_id=ring_id, claims_page=data["paging"]["page"])
    return render_template(
        "ring.html", run_id=run_id, ring=ring, geography=ring_geography(data["story"]),
        change=week_over_week(data["diff"]), members=show_records(data["members"], typed=True),
        claims=show_records(data["lines"], CLAIM_PERSONAL_COLUMNS), paging=data["paging"],
        timeline=Markup(data["timeline_svg"]), totals=data["totals"], case=case, statuses=STATUSES,
    )
