"""Gather what an evidence bundle needs about one ring from the Shabaka stores.

Reading (stores) is kept apart from building the files (:mod:`export.bundle`),
so a bundle can be built from plain frames too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import pandas as pd

from detectors.config import DetectionConfig
from graph.build import build_graph, node_id
from graph.intermediaries import infer_intermediaries
from ingest.store import ClaimsStore
from ground.errors import NotFound, StoreError
from export.evidence import ring_claims
from casework.runs import RunStore

__all__ = ["RingEvidence", "collect_ring", "ring_graph", "run_batches", "SHARED_IDENTIFIERS"]

#: Identifier node types drawn in a ring's graph when at least two member beneficiaries share one.
SHARED_IDENTIFIERS = ("PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT")


@dataclass
class RingEvidence:
    """One ring of one run with its claims window, raw (not pseudonymised)."""

    run: dict[str, Any]
    ring: dict[str, Any]
    members: pd.DataFrame
    batches: list[dict[str, Any]]
    window_claims: pd.DataFrame
    providers: pd.DataFrame | None = None
    lines: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.lines = ring_claims(self.window_claims, self.members,
                                 config=DetectionConfig.from_mapping((self.run.get("params") or {}).get("config")))


def collect_ring(settings, ring_id: str, run_id: str | None = None) -> RingEvidence:
    """Read a ring, its run, and the claims window the run read, from ``settings.home_path``.

    Parameters
    ----------
    settings : Settings
    ring_id : str
    run_id : str, optional
        Defaults to the latest finished run.

    Raises
    ------
    NotFound
        No run, or the ring is not in the run.
    StoreError
        A claim batch the run read is no longer in the claims store.
    """
    with RunStore(settings.home_path) as runs:
        run_id = run_id or runs.latest_run_id()
        if run_id is None:
            raise NotFound(f"no finished run in {settings.home_path}; run 'shabaka detect' first")
        run = runs.run(run_id)
        ring = runs.ring(run_id, ring_id)
        members = runs.members(run_id, ring_id)
    store = ClaimsStore(settings.home_path)
    try:
        batches = run_batches(run, store.batches())
        missing = [b["batch_id"] for b in batches if not b.get("present")]
        if missing:
            raise StoreError(f"run {run_id}: claim batch(es) {', '.join(map(str, missing))} no longer in the "
                             f"claims store of {settings.home_path}")
        claims = store.claims(run.get("window_from"), run.get("window_to"),
                              batch_ids=[b["batch_id"] for b in batches] or None)
        providers = store.providers()
    finally:
        store.close()
    for b in batches:
        b.pop("present", None)
    return RingEvidence(run=run, ring=ring, members=members.drop(columns=["run_id"], errors="ignore"),
                        batches=batches, window_claims=claims, providers=providers if len(providers) else None)


def run_batches(run: dict[str, Any], store_batches: pd.DataFrame) -> list[dict[str, Any]]:
    """The run's claim batches, completed from the claims store's catalogue.

    Each dict has batch_id, sha256, rows, source_name, min/max_service_date and
    ``present`` (the store still has a batch with that id and hash).
    """
    catalogue = {str(r["batch_id"]): r for r in store_batches.to_dict("records")}
    out = []
    for recorded in sorted(run.get("batches") or [], key=lambda b: str(b.get("batch_id"))):
        entry = {k: recorded.get(k) for k in ("batch_id", "sha256", "rows")}
        known = catalogue.get(str(recorded.get("batch_id")))
        entry["present"] = bool(known) and (not entry["sha256"] or str(known["sha256"]) == str(entry["sha256"]))
        if known:
            entry["sha256"] = entry["sha256"] or str(known["sha256"])
            entry["rows"] = entry["rows"] if entry["rows"] is not None else int(known["rows"])
            for key in ("source_name", "min_service_date", "max_service_date"):
                entry[key] = None if pd.isna(known.get(key)) else str(known.get(key))
        out.append(entry)
    return out


def ring_graph(evidence: RingEvidence) -> nx.Graph:
    """The ring's graph: its members, identifiers shared by its beneficiaries, and the claims edges between them.

    Built with :func:`graph.build.build_graph` on the ring's claim lines; inferred
    intermediaries come from the whole window (their ids depend on it).
    """
    members = evidence.members
    lines = evidence.lines
    wanted = {node_id(t, i) for t, i in zip(members["entity_type"], members["entity_id"].astype(str))}
    intermediaries = None
    if (members["entity_type"] == "INTERMEDIARY").any():
        params = (evidence.run.get("params") or {}).get("intermediaries") or {}
        found = infer_intermediaries(evidence.window_claims, **params)
        keep = found.table["intermediary_id"].isin(members.loc[members["entity_type"] == "INTERMEDIARY", "entity_id"])
        found.table = found.table[keep]
        found.members = found.members[found.members["intermediary_id"].isin(found.table["intermediary_id"])]
        found.links = found.links[found.links["intermediary_id"].isin(found.table["intermediary_id"])]
        intermediaries = found
    G = nx.Graph()
    if len(lines):
        built = build_graph(lines, providers=evidence.providers, intermediaries=intermediaries)
        benes = set(members.loc[members["entity_type"] == "BENEFICIARY", "entity_id"].astype(str))
        targets = built.edges["target"].astype(str)
        for node_type in SHARED_IDENTIFIERS:
            sharing = built.edges[targets.str.startswith(node_type + ":")
                                  & built.edges["source"].astype(str).str.removeprefix("BENEFICIARY:").isin(benes)]
            counts = sharing.groupby("target")["source"].nunique()
            wanted |= set(counts[counts >= 2].index)
        G = built.to_networkx(sorted(wanted))
    for record in members.to_dict("records"):
        nid = node_id(record["entity_type"], str(record["entity_id"]))
        if nid not in G:
            G.add_node(nid, node_type=record["entity_type"], entity_id=str(record["entity_id"]),
                       label=str(record["entity_id"]))
        G.nodes[nid].update(role=str(record["role"]), member_score=float(record["score"]),
                            evidence=str(record["evidence"]))
    return G
