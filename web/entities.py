"""Entity search (by id, pseudonym or name) and an entity's page with its expandable neighbourhood."""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Blueprint, redirect, render_template, url_for

from export.sentences import scrub_ids
from ground.errors import InputRefused, NotFound
from ingest.schema import REGIONS
from web.context import (audit, claims_store, graph_store, lookup_pseudonym, pseudonymous, query_for_audit,
                         resolve_id, runs, show_id)
from web.data import TYPE_COLOURS, split_node_id
from web.keys import PSEUDONYM_PREFIXES, PSEUDONYMISED_TYPES
from web.params import PARAMS, arg, check_id

__all__ = ["bp", "search_entities", "real_node_id", "known_entity", "entity_profile", "PUBLIC_TYPES"]

bp = Blueprint("entities", __name__)
#: Entity types whose ids anyone signed in may see and search; the others only through their pseudonyms.
PUBLIC_TYPES = tuple(t for t in TYPE_COLOURS if t not in PSEUDONYMISED_TYPES)


def real_node_id(shown_node_id: str) -> str:
    """The stored node id behind the one in a URL (a pseudonym for analysts); NotFound for a malformed one.

    Parameters
    ----------
    shown_node_id : str
    """
    kind, ident = split_node_id(check_id("entity", shown_node_id))
    return f"{kind}:{resolve_id(kind, ident)}"


def known_entity(node_id: str) -> str:
    """Where a real node id is stored: ``"graph"`` (the graph store) or ``"findings"`` (a run's members or scores).

    Asks the graph store's node table and the findings' indexes only, never the claims.

    Parameters
    ----------
    node_id : str
        A stored node id.

    Raises
    ------
    NotFound
        Neither knows it.
    """
    kind, ident = split_node_id(node_id)
    try:
        graph_store().resolve(node_id)
        return "graph"
    except NotFound:
        pass
    row = runs().conn.execute(
        "SELECT 1 FROM members WHERE entity_id = ? AND entity_type = ? UNION ALL "
        "SELECT 1 FROM entity_scores WHERE entity_id = ? AND entity_type = ? LIMIT 1",
        (ident, kind, ident, kind)).fetchone()
    if row is None:
        raise NotFound(f"{kind.lower()} {show_id(kind, ident)!r} not found in the graph or the findings")
    return "findings"


def entity_profile(kind: str, ident: str) -> list[tuple[str, str]]:
    """What the register says of a provider or doctor: name, type, specialty, city and region.

    Name, type, city and region come from the providers file the claims store
    ingested; a doctor's specialty (and, without a providers row, the type and
    region) from its node in the graph store, that is from its claim lines.
    Other entity types have no register: an empty list.

    Parameters
    ----------
    kind : str
        ``PROVIDER`` or ``DOCTOR`` (anything else gives ``[]``).
    ident : str
        The stored id.

    Returns
    -------
    list of (label, value)
        Only the fields known, in reading order.
    """
    if kind not in ("PROVIDER", "DOCTOR"):
        return []
    row = claims_store().provider(ident) or {}
    node: dict[str, Any] = {}
    try:
        nodes = graph_store().neighbourhood(f"{kind}:{ident}", hops=1, limit=1).nodes
        mine = nodes[nodes["node_id"] == f"{kind}:{ident}"]
        node = mine.iloc[0].to_dict() if len(mine) else {}
    except NotFound:
        pass

    def known(*values: Any) -> str:
        for value in values:
            if value is not None and not pd.isna(value) and str(value).strip():
                return str(value).strip()
        return ""

    region = known(row.get("region"), node.get("region"))
    fields = [
        ("Name", known(row.get("name"))),
        ("Type", known(row.get("provider_type"), node.get("provider_type"), "DOCTOR" if kind == "DOCTOR" else None)
         .replace("_", " ").lower()),
        ("Specialty", known(node.get("specialty")).replace("_", " ").lower()),
        ("City", known(row.get("city"))),
        ("Region", f"{region} {REGIONS[region]}" if region in REGIONS else region),
    ]
    return [(label, value) for label, value in fields if value]


def search_entities(text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Entities whose id or name contains ``text``: pseudonyms, graph store, findings, providers file.

    Analysts' searches compare ``text`` with provider, doctor and submission point
    ids and provider names only, and with pseudonyms already shown (exactly);
    personal ids are never compared with what an analyst types, so no answer
    depends on them. Results are shown as the user may see them.

    Parameters
    ----------
    text : str
    limit : int
        Most results.
    """
    text, spec = text.strip(), PARAMS["q"][1]
    if not spec.min_len <= len(text) <= spec.max_len:
        raise InputRefused(f"q {text[:40]!r}: expected {spec.accepts}")
    types = PUBLIC_TYPES if pseudonymous() else tuple(TYPE_COLOURS)
    found: dict[str, dict[str, Any]] = {}
    prefix, _, rest = text.partition("~")
    if prefix in PSEUDONYM_PREFIXES and rest:
        kind = PSEUDONYM_PREFIXES[prefix]
        real = lookup_pseudonym(kind, text)
        if real is not None:
            found[f"{kind}:{real}"] = {"type": kind, "entity_id": real, "label": None}
    for rec in graph_store().search(text, limit=limit, types=types).to_dict("records"):
        kind, ident = str(rec["node_type"]), str(rec["entity_id"])
        found.setdefault(f"{kind}:{ident}", {"type": kind, "entity_id": ident, "label": rec.get("label")})
    like = "%" + like_escape(text) + "%"
    marks = ", ".join("?" for _ in types)
    for row in runs().conn.execute(
            f"SELECT DISTINCT entity_type, entity_id FROM members WHERE entity_type IN ({marks})"
            " AND entity_id LIKE ? ESCAPE '\\' UNION SELECT DISTINCT entity_type, entity_id FROM entity_scores"
            f" WHERE entity_type IN ({marks}) AND entity_id LIKE ? ESCAPE '\\' LIMIT ?",
            (*types, like, *types, like, limit)):
        found.setdefault(f"{row[0]}:{row[1]}", {"type": row[0], "entity_id": row[1], "label": None})
    if len(found) < limit:
        for rec in claims_store().providers(matching=text, limit=limit).to_dict("records"):
            kind = "DOCTOR" if str(rec.get("provider_type")) == "DOCTOR" else "PROVIDER"
            found.setdefault(f"{kind}:{rec['provider_id']}", {"type": kind, "entity_id": str(rec["provider_id"]),
                                                               "label": rec.get("name")})
    out = []
    for item in list(found.values())[:limit]:
        shown = show_id(item["type"], item["entity_id"])
        if item["type"] in ("PROVIDER", "DOCTOR") and _unnamed(item):
            # Found in the graph or the findings, which carry no name: the providers file's, when it has one.
            item["label"] = (claims_store().provider(item["entity_id"]) or {}).get("name") or item["label"]
        label = shown if item["type"] in PSEUDONYMISED_TYPES or _unnamed(item) else str(item["label"])
        out.append({"node_id": f"{item['type']}:{shown}", "type": item["type"], "entity_id": shown, "label": label,
                    "colour": TYPE_COLOURS.get(item["type"], "#999")})
    return out


def _unnamed(item: dict[str, Any]) -> bool:
    label = item["label"]
    return label is None or label is pd.NA or (isinstance(label, float) and pd.isna(label)) or not str(label) \
        or str(label) == str(item["entity_id"])


def like_escape(text: str) -> str:
    """``text`` with LIKE's wildcards and the escape character escaped (for ``ESCAPE '\\'``).

    Parameters
    ----------
    text : str
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@bp.route("/entities")
def search():
    """Search page; a single exact hit goes straight to the entity."""
    text = arg("q", "")
    results = search_entities(text) if text else []
    audit("search", n_results=len(results), **(query_for_audit(text, results) if text else {}))
    if len(results) == 1 and results[0]["entity_id"] == text:
        return redirect(url_for("entities.entity", node_id=results[0]["node_id"]))
    return render_template("search.html", q=text, results=results)


@bp.route("/entities/<path:node_id>")
def entity(node_id: str):
    """An entity: its scores and rings in the latest run, and its neighbourhood (entity.js).

    Parameters
    ----------
    node_id : str
        ``TYPE:id`` from the URL, a pseudonym's for analysts.
    """
    real = real_node_id(node_id)
    known_entity(real)
    kind, ident = split_node_id(real)
    run_id = runs().latest_run_id()
    rings, score = [], None
    if run_id:
        rings = runs().rings_of_entity(run_id, ident)
        rings = [{**r, "finding": scrub_ids(str(r["evidence"]))}
                 for r in rings[rings["entity_type"] == kind].to_dict("records")]
        row = runs().conn.execute(
            "SELECT score, top_reason FROM entity_scores WHERE run_id = ? AND entity_type = ? AND entity_id = ?",
            (run_id, kind, ident)).fetchone()
        score = {**dict(row), "reason": scrub_ids(str(row["top_reason"]))} if row else None
    shown = show_id(kind, ident)
    audit("view_entity", node_id=real)
    return render_template("entity.html", kind=kind, shown=shown, node_id=f"{kind}:{shown}", rings=rings,
                           score=score, run_id=run_id, colour=TYPE_COLOURS.get(kind, "#999"),
                           types=TYPE_COLOURS, profile=entity_profile(kind, ident))
