"""Re-run ring assembly on the claim batches a bundle records and compare the members.

The bundle is verified against its manifests first: an altered bundle is reported
as such and not re-run. The bundle's ``data/run.json`` holds the run's window,
parameters and claim batch hashes; the members compared are the bundle's own
``data/members.csv`` rows (what the prosecutor reads), which must also agree with
the members ``run.json`` records. The local claims store must hold batches with
the recorded SHA-256 hashes (matched by hash, not by id, so a store rebuilt from
the same files still matches).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from detectors.config import DetectionConfig
from detectors.pipeline import detect
from export.manifest import verify_bundle
from export.pseudonym import Pseudonymiser, load_pseudonym_key
from ground.errors import InputRefused, NotFound
from ingest.store import ClaimsStore

__all__ = ["ReproduceResult", "reproduce_bundle", "read_provenance"]

_RUN_PATH = "data/run.json"
_MEMBERS_PATH = "data/members.csv"


@dataclass(frozen=True)
class ReproduceResult:
    """What :func:`reproduce_bundle` found.

    ``missing_members`` are in the bundle but not in the re-run ring,
    ``extra_members`` the other way round, as ``TYPE:id`` strings. ``altered``
    lists what :func:`verify_bundle` found changed in the bundle (then nothing was re-run).
    """

    ring_id: str
    matched_ring_id: str | None
    same: bool
    missing_members: list[str] = field(default_factory=list)
    extra_members: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_members: int = 0
    altered: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable report."""
        if self.altered:
            return ["different: the bundle does not match its manifest, so it was not re-run"] + [
                f"altered: {a}" for a in self.altered]
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

    Parameters
    ----------
    bundle : path
        A bundle zip.

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
        The bundle is not a zip, has no manifest, provenance or members file,
        or it was pseudonymised with another key.
    """
    check = verify_bundle(bundle)
    if not check.ok:
        return ReproduceResult(ring_id=_ring_id_if_readable(bundle), matched_ring_id=None, same=False,
                               altered=check.lines())
    prov = read_provenance(bundle)
    ring_id = str(prov["ring"]["ring_id"])
    expected = _bundle_members(bundle, ring_id)
    recorded_members = {f"{m['entity_type']}:{m['entity_id']}" for m in prov.get("members") or []}
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
    finally:
        store.close()
    result = detect(claims, seed=int(params.get("seed", 42)), max_rings=int(params.get("max_rings", 200)),
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
    if recorded_members != expected:
        notes.append(f"{_MEMBERS_PATH} and {_RUN_PATH} list different members: "
                     + ", ".join(sorted(recorded_members ^ expected)))
    matched, found = _best_ring(members, ring_id, expected)
    return ReproduceResult(
        ring_id=ring_id, matched_ring_id=matched,
        same=matched is not None and found == expected and recorded_members == expected,
        missing_members=sorted(expected - found), extra_members=sorted(found - expected), notes=notes,
        n_members=len(expected),
    )


def _ring_id_if_readable(bundle: str | Path) -> str:
    try:
        return str(read_provenance(bundle)["ring"]["ring_id"])
    except (InputRefused, KeyError, TypeError):
        return "(unreadable)"


def _bundle_members(bundle: str | Path, ring_id: str) -> set[str]:
    """The ring's members as ``TYPE:id`` from the bundle's ``data/members.csv``."""
    try:
        with zipfile.ZipFile(bundle) as zf:
            text = zf.read(_MEMBERS_PATH).decode("utf-8")
    except (zipfile.BadZipFile, OSError, KeyError, UnicodeDecodeError) as exc:
        raise InputRefused(f"{bundle}: no readable {_MEMBERS_PATH} ({exc})") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and not {"ring_id", "entity_type", "entity_id"} <= set(rows[0]):
        raise InputRefused(f"{bundle}: {_MEMBERS_PATH} lacks ring_id, entity_type or entity_id columns")
    return {f"{r['entity_type']}:{r['entity_id']}" for r in rows if r["ring_id"] == ring_id}


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
