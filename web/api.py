"""The JSON API behind the pages (GET only, same session as the pages).

Every personal identifier is pseudonymised for analysts exactly as on the pages.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from flask import Blueprint, current_app

from casework.ringpages import ring_lines_page
from graph.build import CLAIM_EDGE_INPUTS
from web.context import (CLAIM_PERSONAL_COLUMNS, audit, cases, claims_store, current_run_id, graph_store,
                         pseudonymous, query_for_audit, runs, settings, show_case, show_id)
from web.data import split_node_id
from web.entities import known_entity, real_node_id, search_entities
from web.neighbourhood import neighbourhood_from_claims, neighbourhood_from_graph
from web.params import PARAMS, arg, check_id, paging
from web.rings import filter_rings, load_ring, page_of, ring_filters, ring_graph, show_records, shown_changes
from web.runs import RUNS_SHOWN

__all__ = ["bp"]

bp = Blueprint("api", __name__, url_prefix="/api")
PARAMS_LIMIT_MAX = PARAMS["limit"][1].hi
#: What the ring API reads of a ring's pages besides its members.
_API_PARTS = ("story.elements", "timeline", "geography", "changes")
#: Most claim lines one neighbourhood request reads for an entity the graph store lacks (all hops together):
#: a hub's lines beyond it are left out, and the answer says so.
CLAIM_LINES_CAP = 50_000


@bp.route("/runs")
def api_runs():
    audit("api_runs")
    table = runs().runs(limit=RUNS_SHOWN)
    return {"runs": _records(table.drop(columns=["params_json", "batches_json"], errors="ignore"))}


@bp.route("/rings")
def api_rings():
    run_id = current_run_id(arg("run"))
    filters = ring_filters()
    kept = filter_rings(runs().rings(run_id), filters, cases().statuses())
    page, paging = page_of(kept.drop(columns=["extra_json"], errors="ignore"), arg("page", 1),
                           current_app.config["PAGE_SIZE"])
    audit("api_rings", run_id=run_id, page=paging["page"])
    return {"run_id": run_id, "rings": _records(page), **paging}


@bp.route("/rings/<ring_id>")
def api_ring(ring_id: str):
    """One ring of a run (``run``, default the latest): members, graph, totals, timeline, geography and
    change since the previous run, as this user may see them (read from the run's ring pages).

    For a user who sees identifiers in clear the stored parts are sent as they were
    written, never decoded; an analyst's are decoded to put pseudonyms in.

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    run_id = current_run_id(arg("run"))
    ring, data = load_ring(run_id, ring_id, _API_PARTS, decode=False)
    audit("api_ring", run_id=run_id, ring_id=ring_id)
    head = {"run_id": run_id, "ring": _clean(ring), "totals": data["totals"],
            "case": show_case(cases().get(ring_id))}
    stored = {"members": data.pop("members_json"), "elements": data["story"].get("elements", "[]"),
              **{name: data[name] for name in _API_PARTS if name in data}}
    if not pseudonymous():
        body = current_app.json.dumps(head)[:-1] + "".join(f", \"{k}\": {v}" for k, v in stored.items()) + "}"
        return current_app.response_class(body, mimetype="application/json")
    parsed = {k: json.loads(v) for k, v in stored.items()}
    geo = parsed["geography"]
    geo = {**geo, "providers": [{**p, "provider_id": show_id("PROVIDER", p["provider_id"])} for p in geo["providers"]]}
    return {**head, "members": show_records(parsed["members"], typed=True),
            "elements": ring_graph({"story": {"elements": parsed["elements"]}}), "timeline": parsed["timeline"],
            "geography": geo, "changes": shown_changes(parsed["changes"])}


@bp.route("/rings/<ring_id>/claims")
def api_ring_claims(ring_id: str):
    """A page of a ring's claim lines (``page``, ``size``, ``run``), each with ``at_risk``, personal columns
    pseudonymised for analysts (read from the run's ring pages).

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    run_id = current_run_id(arg("run"))
    runs().ring(run_id, check_id("ring", ring_id))
    page, paging = ring_lines_page(settings().home_path, run_id, ring_id, page=arg("page", 1),
                                   size=arg("size", current_app.config["PAGE_SIZE"]))
    audit("api_ring_claims", run_id=run_id, ring_id=ring_id, page=paging["page"])
    return {"run_id": run_id, "ring_id": ring_id, "claims": show_records(page, CLAIM_PERSONAL_COLUMNS),
            **paging}


@bp.route("/entities/<path:node_id>/neighbourhood")
def api_neighbourhood(node_id: str):
    """A node's neighbourhood: ``hops`` (1-3), ``limit`` edges, ``from``/``to`` dates.

    Answered from the graph store; an entity of the findings that the graph lacks
    is answered from its own claim lines, at most :data:`CLAIM_LINES_CAP` of them in
    all (``lines_capped`` says when the cap cut the read); any other id is a 404
    before any claim is read.

    Parameters
    ----------
    node_id : str
        ``TYPE:id`` from the URL, a pseudonym's for analysts.
    """
    hops, limit = arg("hops", 1), arg("limit", min(int(settings().neighbourhood_limit), PARAMS_LIMIT_MAX))
    start, end = arg("from"), arg("to")
    real = real_node_id(node_id)
    source = known_entity(real)
    lines_capped = [False]
    if source == "graph":
        nb = neighbourhood_from_graph(graph_store(), real, hops=hops, limit=limit, start=start, end=end)
    else:
        store = claims_store()
        budget = [CLAIM_LINES_CAP]

        def read(any_of: dict[str, set[str]]) -> pd.DataFrame:
            # One more line than the budget tells a full read from a cut one.
            lines = store.claims(start, end, columns=list(CLAIM_EDGE_INPUTS), any_of=any_of, limit=budget[0] + 1)
            if len(lines) > budget[0]:
                lines_capped[0] = True
                lines = lines.iloc[:budget[0]]
            budget[0] -= len(lines)
            return lines
        nb = neighbourhood_from_claims(read, real, hops=hops, limit=limit)
        source = "claims"
    audit("api_neighbourhood", node_id=real, hops=hops, limit=limit, start=start, end=end)
    return {"node_id": node_id, "source": source, "omitted": nb["omitted"], "lines_capped": lines_capped[0],
            "nodes": [_show_node(n) for n in nb["nodes"]], "edges": [_show_edge(e) for e in nb["edges"]]}


@bp.route("/search")
def api_search():
    text = arg("q", "")
    results = search_entities(text, limit=arg("search_limit", 20))
    audit("api_search", n_results=len(results), **query_for_audit(text, results))
    return {"results": results}


@bp.route("/cases")
def api_cases():
    status = arg("status")
    pages = paging(cases().count(status), arg("page", 1), current_app.config["PAGE_SIZE"])
    audit("api_cases", status=status, page=pages["page"])
    return {"cases": [show_case(c) for c in cases().cases(status, limit=pages["size"], offset=pages["offset"])],
            **{k: v for k, v in pages.items() if k != "offset"}}


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
