"""Build the evidence bundle of one ring: graph files, CSVs, report, provenance, audit entry.

:func:`export_ring` is what ``shabaka export`` and the viewer's button call.
:func:`build_payload` turns a :class:`~export.collect.RingEvidence` into
the payload files, with no store involved.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from graph.serialise import write_graph
from ingest.schema import CLAIM_COLUMNS
from ingest.store import ClaimsStore
from ground import __version__
from casework.audit import AuditLog
from casework.store import Casework
from ground.errors import AccessDenied
from export.cypher import load_script
from export.collect import RingEvidence, collect_ring, ring_graph
from export.evidence import main_provider_peers, provider_indicators, timeline
from export.sentences import detector_notes, member_sentences, ring_summary
from export.manifest import AUDIT_ENTRY, manifest_text, payload_hash, write_bag
from export.picture import network_figure, timeline_figure, to_png, to_svg
from export.pseudonym import Pseudonymiser, load_pseudonym_key, pseudonymise_graph
from export.report_html import render_html
from export.report_model import ReportData
from export.report_pdf import render_pdf
from export.texts import VERIFY_NOTE

__all__ = ["export_ring", "build_payload", "IDENTITY_ROLES", "EXPORT_ROLES", "GRAPH_FILES", "RUN_FILE"]

log = logging.getLogger(__name__)

#: Roles that may see identities, hence export without pseudonymisation.
IDENTITY_ROLES = frozenset({"investigator", "admin"})
#: Roles that may export at all (analysts only pseudonymised).
EXPORT_ROLES = IDENTITY_ROLES | {"analyst"}
#: write_graph format -> where its output goes in the bundle (under ``data/``).
GRAPH_FILES: dict[str, str] = {
    "graphml": "graph/ring.graphml",
    "gexf": "graph/ring.gexf",
    "cytoscape": "graph/ring.cyjs",
    "neo4j-csv": "graph/neo4j",
    "gephi-csv": "graph/gephi",
}
RUN_FILE = "run.json"


def export_ring(settings, ring_id: str, out_zip: str | Path, *, run_id: str | None = None,
                pseudonymise: bool = False, actor: str = "cli", role: str = "investigator",
                casework: Casework | None = None, claims_store: ClaimsStore | None = None) -> Path:
    """Write the evidence bundle of one ring to ``out_zip`` (atomically) and log it in the audit log.

    Parameters
    ----------
    settings : Settings
    ring_id : str
    out_zip : path
        The zip to write; replaced if present.
    run_id : str, optional
        The run the ring comes from; default the latest finished run.
    pseudonymise : bool
        Replace personal identifiers by keyed pseudonyms in every file.
    actor, role : str
        Who exports, for the access check and the audit entry.
    casework : Casework, optional
        An open connection to HOME's casework (runs, audit log), such as the viewer's
        request's; opened and closed here when absent.
    claims_store : ClaimsStore, optional
        An open claims store of HOME; opened and closed here when absent.

    Returns
    -------
    Path
        ``out_zip``.

    Raises
    ------
    AccessDenied
        ``role`` may not export, or may not see identities and ``pseudonymise`` is False.
    NotFound, StoreError
        No such run or ring; a claim batch of the run is gone.
    """
    if role not in EXPORT_ROLES:
        raise AccessDenied(f"role {role!r} may not export evidence bundles")
    if not pseudonymise and role not in IDENTITY_ROLES:
        raise AccessDenied(f"role {role!r} may only export pseudonymised bundles (--pseudonymise)")
    out_zip = Path(out_zip)
    with ExitStack() as opened:
        if casework is None:
            casework = opened.enter_context(Casework(settings.home_path))
        evidence = collect_ring(settings, ring_id, run_id, casework=casework, claims_store=claims_store)
        pseudonymiser = Pseudonymiser(load_pseudonym_key(settings)) if pseudonymise else None
        payload = build_payload(evidence, pseudonymiser=pseudonymiser)
        digest = payload_hash(manifest_text({f"data/{k}": v for k, v in payload.items()}))
        params = {
            "ring_id": ring_id, "run_id": evidence.run["run_id"], "pseudonymised": pseudonymise,
            "key_id": pseudonymiser.key_id if pseudonymiser else None, "role": role,
            "bundle": out_zip.name, "payload_sha256": digest, "files": len(payload) + 1,
        }
        audit = casework.store(AuditLog)
        entry = audit.append(actor, "export", params)
        payload[AUDIT_ENTRY.removeprefix("data/")] = _json(entry)
        try:
            write_bag(out_zip, payload, _bag_info(evidence, pseudonymise))
        except BaseException:
            audit.append(actor, "export-failed", {"ring_id": ring_id, "audit_id": entry["id"]})
            raise
    log.info("exported ring %s of run %s: %d files, payload %s", ring_id, evidence.run["run_id"],
             len(payload), digest[:12])
    return out_zip


def build_payload(evidence: RingEvidence, *, pseudonymiser: Pseudonymiser | None = None) -> dict[str, bytes]:
    """Every payload file of the bundle except the audit entry, as path (under ``data/``) -> bytes.

    Deterministic: the same evidence (and key) gives the same bytes.

    Parameters
    ----------
    evidence : RingEvidence
        From :func:`export.collect.collect_ring`.
    pseudonymiser : Pseudonymiser, optional
        Pseudonymise personal identifiers with it.
    """
    run, ring = evidence.run, dict(evidence.ring)
    members = evidence.members.reset_index(drop=True)
    lines = evidence.lines
    G = ring_graph(evidence)
    indicators = provider_indicators(evidence.window_claims, members, config=evidence.config)
    days = timeline(lines)
    # Written from the raw lines before pseudonymising: the sentences name no id.
    members = members.assign(sentence=member_sentences(members, lines), note=detector_notes(members))
    story = ring_summary(ring, members)
    peer_note = main_provider_peers(lines, members, indicators)
    if pseudonymiser is not None:
        lines = pseudonymiser.claims(lines)
        members = pseudonymiser.members(members)
        members = members.assign(note=members["note"].map(pseudonymiser.text))
        G = pseudonymise_graph(G, pseudonymiser)
        ring = {k: pseudonymiser.text(v) for k, v in ring.items() if k != "extra"}
    ring_row = {k: ring.get(k) for k in ("ring_id", "rank", "score", "size", "amount_at_risk", "summary",
                                          "scenario", "regions", "regimes")}
    ring_row["run_id"] = run["run_id"]
    params = run.get("params") or {}
    payload: dict[str, bytes] = {}
    for fmt, name in GRAPH_FILES.items():
        payload.update(_graph_files(G, fmt, name))
    neo4j = GRAPH_FILES["neo4j-csv"]
    payload[f"{neo4j}/load.cypher"] = load_script(
        payload[f"{neo4j}/nodes.csv"], payload[f"{neo4j}/relationships.csv"]).encode("utf-8")
    payload["claims.csv"] = _csv(lines.reindex(columns=[*CLAIM_COLUMNS, "at_risk"]), float_format="%.2f")
    payload["members.csv"] = _csv(members.reindex(columns=["ring_id", "entity_type", "entity_id", "role", "score",
                                                           "evidence"]))
    payload["ring.csv"] = _csv(pd.DataFrame([ring_row]))
    payload["indicators.csv"] = _csv(indicators)
    payload["timeline.csv"] = _csv(days)
    payload["batches.csv"] = _csv(pd.DataFrame(evidence.batches).reindex(
        columns=["batch_id", "source_name", "sha256", "rows", "min_service_date", "max_service_date"]))
    provenance = {
        "software": {"name": "shabaka", "version": __version__},
        "run": {k: run.get(k) for k in ("run_id", "kind", "week", "started_at", "finished_at", "window_from",
                                        "window_to", "version")},
        "params": params,
        "batches": evidence.batches,
        "ring": ring_row,
        "members": members.reindex(columns=["entity_type", "entity_id", "role"]).to_dict("records"),
        "pseudonymised": pseudonymiser is not None,
        "key_id": pseudonymiser.key_id if pseudonymiser else None,
    }
    payload[RUN_FILE] = _json(provenance)
    report = ReportData(
        ring=ring_row, run=provenance["run"], params=params, members=members, indicators=indicators, story=story,
        peer_note=peer_note,
        timeline=days, batches=evidence.batches, software_version=__version__, n_lines=len(lines),
        amount_claimed=float(lines["amount_claimed"].sum()) if len(lines) else 0.0,
        n_lines_at_risk=int(lines["at_risk"].sum()),
        amount_lines_at_risk=round(float(lines.loc[lines["at_risk"], "amount_claimed"].sum()), 2),
        period=_period(lines),
        n_nodes=G.number_of_nodes(), n_edges=G.number_of_edges(),
        network_svg=to_svg(network_figure(G)), network_png=to_png(network_figure(G)),
        timeline_svg=to_svg(timeline_figure(days)), timeline_png=to_png(timeline_figure(days)),
        pseudonymised=pseudonymiser is not None, key_id=provenance["key_id"],
        files=sorted([*payload, "report.html", "report.pdf", "README.txt", AUDIT_ENTRY.removeprefix("data/")]),
    )
    payload["report.html"] = render_html(report).encode("utf-8")
    payload["report.pdf"] = render_pdf(report)
    payload["README.txt"] = _readme(ring_row["ring_id"]).encode("utf-8")
    return dict(sorted(payload.items()))


def _graph_files(G: nx.Graph, fmt: str, name: str) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="shabaka-export-") as tmp:
        root = Path(tmp)
        written = write_graph(G, fmt, root / Path(name).name)
        parent = Path(name).parent.as_posix()
        return {f"{parent}/{p.relative_to(root).as_posix()}": p.read_bytes() for p in sorted(written)}


def _csv(frame: pd.DataFrame, *, float_format: str | None = None) -> bytes:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "true", False: "false"})
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n", float_format=float_format)
    return buf.getvalue().encode("utf-8")


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _bag_info(evidence: RingEvidence, pseudonymised: bool) -> dict[str, str]:
    return {
        "Source-Organization": "AMO fund (Shabaka evidence export)",
        "External-Identifier": str(evidence.ring["ring_id"]),
        "External-Description": f"Evidence bundle of ring {evidence.ring['ring_id']} from run "
                                f"{evidence.run['run_id']}",
        "Bag-Software-Agent": f"shabaka {__version__}",
        "Shabaka-Run": str(evidence.run["run_id"]),
        "Shabaka-Pseudonymised": "yes" if pseudonymised else "no",
    }


def _period(lines: pd.DataFrame) -> tuple[str, str]:
    if lines.empty:
        return ("", "")
    dates = pd.to_datetime(lines["service_date"])
    return (dates.min().date().isoformat(), dates.max().date().isoformat())


def _readme(ring_id: str) -> str:
    return f"""Shabaka evidence bundle — ring {ring_id}

report.html / report.pdf   the report (opens in any browser / PDF reader, nothing fetched)
ring.csv, members.csv      the ring and its members with roles and evidence
claims.csv                 the claim lines behind the ring (claims contract columns); the
                           lines with at_risk=True add up to the ring's amount at risk
indicators.csv             each ring provider's indicators against the median of its peers
timeline.csv               claims and amount per service day
batches.csv, run.json      provenance: claim batches (SHA-256), run, parameters, software version
graph/ring.graphml         Gephi, yEd, networkx (File > Open)
graph/ring.gexf            Gephi (File > Open)
graph/ring.cyjs            Cytoscape (File > Import > Network from File), Cytoscape.js JSON
graph/neo4j/               Neo4j: copy the CSVs to the import folder, run the .cypher script in Neo4j Browser
graph/gephi/               Gephi: Data Laboratory > Import spreadsheet (nodes, then edges)
audit-entry.json           the fund's audit log entry of this export; its payload_sha256 is the SHA-256
                           of manifest-sha256.txt without this file's own line

{VERIFY_NOTE}
"""
