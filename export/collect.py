"""Gather what an evidence bundle needs about one ring from the Shabaka stores.

Reading (stores) is kept apart from building the files (:mod:`export.bundle`),
so a bundle can be built from plain frames too.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import pandas as pd

from casework.runs import RunStore
from casework.store import Casework
from detectors.config import DetectionConfig
from export.evidence import ring_claims
from graph.intermediaries import infer_intermediaries
from graph.ring import only_intermediaries, ring_graph as build_ring_graph
from ground.errors import NotFound, StoreError
from ingest.store import ClaimsStore

__all__ = ["RingEvidence", "collect_ring", "ring_graph", "run_batches"]

@dataclass
class RingEvidence:
    """One ring of one run with its claims window, raw (not pseudonymised)."""

    run: dict[str, Any]
    ring: dict[str, Any]
    members: pd.DataFrame
    batches: list[dict[str, Any]]
    window_claims: pd.DataFrame
    providers: pd.DataFrame | None = None
    config: DetectionConfig = field(init=False)
    lines: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.config = DetectionConfig.from_mapping((self.run.get("params") or {}).get("config"))
        self.lines = ring_claims(self.window_claims, self.members, config=self.config)


def collect_ring(settings, ring_id: str, run_id: str | None = None, *, casework: Casework | None = None,
                 claims_store: ClaimsStore | None = None) -> RingEvidence:
    """Read a ring, its run, and the claims window the run read, from ``settings.home_path``.

    Parameters
    ----------
    settings : Settings
    ring_id : str
    run_id : str, optional
        Defaults to the latest finished run.
    casework : Casework, optional
        An open connection to HOME's casework (the viewer's request's); opened and closed here when absent.
    claims_store : ClaimsStore, optional
        An open claims store of HOME (the viewer's request's); opened and closed here when absent.

    Raises
    ------
    NotFound
        No run, or the ring is not in the run.
    StoreError
        A claim batch the run read is no longer in the claims store.
    """
    with ExitStack() as opened:
        if casework is None:
            casework = opened.enter_context(Casework(settings.home_path))
        runs = casework.store(RunStore)
        run_id = run_id or runs.latest_run_id()
        if run_id is None:
            raise NotFound(f"no finished run in {settings.home_path}; run 'shabaka detect' first")
        run = runs.run(run_id)
        ring = runs.ring(run_id, ring_id)
        members = runs.members(run_id, ring_id)
        store = claims_store or opened.enter_context(ClaimsStore(settings.home_path))
        batches = run_batches(run, store.batches())
        missing = [b["batch_id"] for b in batches if not b.get("present")]
        if missing:
            raise StoreError(f"run {run_id}: claim batch(es) {', '.join(map(str, missing))} no longer in the "
                             f"claims store of {settings.home_path}")
        claims = store.claims(run.get("window_from"), run.get("window_to"),
                              batch_ids=[b["batch_id"] for b in batches] or None)
        providers = store.providers()
    for b in batches:
        b.pop("present", None)
    return RingEvidence(run=run, ring=ring, members=members.drop(columns=["run_id"], errors="ignore"),
                        batches=batches, window_claims=claims, providers=providers if len(providers) else None)


def run_batches(run: dict[str, Any], store_batches: pd.DataFrame) -> list[dict[str, Any]]:
    """The run's claim batches, completed from the claims store's catalogue.

    Each dict has batch_id, sha256, rows, source_name, min/max_service_date and
    ``present`` (the store still has a batch with that id and hash).

    Parameters
    ----------
    run : dict
        A stored run (``RunStore.run``).
    store_batches : DataFrame
        The claims store's catalogue (``ClaimsStore.batches``).
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
    """The ring's graph (:func:`graph.ring.ring_graph`) on its claim lines; its inferred
    intermediaries come from the whole window, as their ids depend on it.

    Parameters
    ----------
    evidence : RingEvidence
    """
    members = evidence.members
    intermediaries = None
    ids = set(members.loc[members["entity_type"] == "INTERMEDIARY", "entity_id"].astype(str))
    if ids:
        params = (evidence.run.get("params") or {}).get("intermediaries") or {}
        intermediaries = only_intermediaries(infer_intermediaries(evidence.window_claims, **params), ids)
    return build_ring_graph(members, evidence.lines, providers=evidence.providers, intermediaries=intermediaries)
