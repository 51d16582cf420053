"""Re-run ring assembly on the claim batches a bundle records and compare the members.

The bundle's ``data/run.json`` holds the run's window, parameters, claim batch
hashes and the ring's members. The local claims store must hold batches with
those SHA-256 hashes (matched by hash, not by id, so a store rebuilt from the
same files still matches).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from detectors.config import DetectionConfig
from detectors.pipeline import detect
from ingest.store import ClaimsStore
from ground.errors import InputRefused, NotFound
from export.pseudonym import Pseudonymiser, load_pseudonym_key

__all__ = ["ReproduceResult", "reproduce_bundle", "read_provenance"]

_RUN_PATH = "data/run.json"


@dataclass(frozen=True)
class ReproduceResult:
    """What :func:`reproduce_bundle` found.

    ``missing_members`` are in the bundle but not in the re-run ring,
    ``extra_members`` the other way round, as ``TYPE:id`` strings.
    """

    ring_id: str
    matched_ring_id: str | None
    same: bool
    missing_members: list[str] = field(default_factory=list)
    extra_members: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_members: int = 0

    def lines(self) -> list[str]:
        """Human-readable report."""
        if self.same:
            out = [f"same: the re-run on the recorded claim batches and parameters yields ring "
                   f"{self.matched_ring_id} with the same {self.n_members} members"]
        elif self.matched_ring_id is None:
            out = [f"different: no re-run ring shares a member with {self.ring_id}"]
        else:
            out = [f"different: the closest re-run ring is {self.matched_ring_id}"]
        out += [f"missing from re-run: {m}" for m in self.missing_members]
        out += [f"new in re-run: {m}" for m in self.extra_members]
        out += [f"note: {n}" for n in self.notes]
        return out


def read_provenance(bundle: str | Path) -> dict[str, Any]:
    """The bundle's ``data/run.json``.

    Raises
    ------
    InputRefused
        Not a zip, or no readable ``data/run.json``.
    """
    try:
        with zipfile.ZipFile(bundle) as zf:
            return json.loads(zf.read(_RUN_PATH))
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InputRefused(f"{bundle}: no readable {_RUN_PATH} ({exc})") from None


def reproduce_bundle(bundle: str | Path, settings) -> ReproduceResult:
    """Re-run detection on the bundle's recorded claim batches and compare the ring's members.

    Parameters
    ----------
    bundle : path
        An evidence bundle zip.
    settings : Settings
        Whose ``home_path`` holds the claims store with the recorded batches
        (and, for a pseudonymised bundle, the same pseudonym key).

    Returns
    -------
    ReproduceResult

    Raises
    ------
    NotFound
        Recorded claim batches are not in the local claims store (the message
        names them).
    InputRefused
        The bundle has no provenance, or it was pseudonymised with another key.
    """
    prov = read_provenance(bundle)
    ring_id = str(prov["ring"]["ring_id"])
    run, params = prov.get("run") or {}, prov.get("params") or {}
    recorded = list(prov.get("batches") or [])
    store = ClaimsStore(settings.home_path)
    try:
        catalogue = store.batches()
        by_hash = {str(h): str(b) for h, b in zip(catalogue["sha256"], catalogue["batch_id"])}
        missing = [b for b in recorded if str(b.get("sha256")) not in by_hash]
        if missing:
            names = ", ".join(f"{b.get('batch_id')} ({b.get('source_name') or 'unknown source'}, "
                              f"sha256 {str(b.get('sha256'))[:16]}...)" for b in missing)
            raise NotFound(f"{len(missing)} recorded claim batch(es) not in the claims store of "
                           f"{settings.home_path}: {names}; ingest the same files first")
        batch_ids = sorted({by_hash[str(b["sha256"])] for b in recorded})
        claims = store.claims(run.get("window_from"), run.get("window_to"), batch_ids=batch_ids or None)
        providers = store.providers()
    finally:
        store.close()
    result = detect(claims, seed=int(params.get("seed", 42)), max_rings=int(params.get("max_rings", 200)),
                    providers=providers if len(providers) else None,
                    louvain_engine=str(params.get("louvain_engine", "auto")),
                    exclude=tuple(params.get("exclude") or ()),
                    config=DetectionConfig.from_mapping(params.get("config")))
    notes = []
    if "detectors" in params and params["detectors"] != json.loads(json.dumps(result.params["detectors"],
                                                                               default=str)):
        notes.append("detector parameters of this software differ from the recorded ones")
    members = result.members
    if prov.get("pseudonymised"):
        pseudonymiser = Pseudonymiser(load_pseudonym_key(settings))
        if pseudonymiser.key_id != prov.get("key_id"):
            raise InputRefused(f"{bundle}: pseudonymised with key {prov.get('key_id')}, this home's key is "
                               f"{pseudonymiser.key_id}; reproduce where the fund's key is")
        members = pseudonymiser.members(members)
    expected = {f"{m['entity_type']}:{m['entity_id']}" for m in prov.get("members") or []}
    matched, found = _best_ring(members, ring_id, expected)
    return ReproduceResult(
        ring_id=ring_id, matched_ring_id=matched, same=matched is not None and found == expected,
        missing_members=sorted(expected - found), extra_members=sorted(found - expected), notes=notes,
        n_members=len(expected),
    )


def _best_ring(members: pd.DataFrame, ring_id: str, expected: set[str]) -> tuple[str | None, set[str]]:
    """The re-run ring with this id, else the one sharing the most members (Jaccard)."""
    if members.empty:
        return None, set()
    keys = members["entity_type"].astype(str) + ":" + members["entity_id"].astype(str)
    sets = {str(r): set(keys[members["ring_id"] == r]) for r in sorted(members["ring_id"].astype(str).unique())}
    if ring_id in sets:
        return ring_id, sets[ring_id]
    scored = [(len(s & expected) / len(s | expected), r) for r, s in sets.items() if s & expected]
    if not scored:
        return None, set()
    best = min(scored, key=lambda item: (-item[0], item[1]))[1]
    return best, sets[best]
