"""Fixtures of the export tests: a Shabaka home with ingested claims, one detection run, one bundle.

Built through the real APIs: the tiny claims are written to a CSV, ingested by
``ClaimsStore``, detected by ``detectors.pipeline.detect``, saved by ``RunStore``
and exported by ``export_ring``. That is done once per session into a template
home; each test gets its own copy, so tests stay independent and fast.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from detectors.config import DetectionConfig
from detectors.pipeline import detect
from ingest.store import ClaimsStore
from ground import __version__
from export import export_ring
from casework.runs import RunStore


@dataclass
class ExportHome:
    """A home with claims and a run; ``ring_id`` is the run's top ring."""

    settings: object
    run_id: str
    ring_id: str
    amount_at_risk: float


def write_claims_csv(claims: pd.DataFrame, path: Path) -> Path:
    """Write contract claims as a contract CSV (dates YYYY-MM-DD, booleans true/false)."""
    out = claims.copy()
    for col in ("service_date", "submission_date"):
        out[col] = out[col].dt.strftime("%Y-%m-%d")
    out["ald"] = out["ald"].map({True: "true", False: "false"})
    out.to_csv(path, index=False)
    return path


def _build(settings, claims: pd.DataFrame, work: Path) -> ExportHome:
    csv_path = write_claims_csv(claims, work / "claims.csv")
    with ClaimsStore(settings.home_path) as store:
        store.ingest([csv_path])
        stored = store.claims()
        batches = store.batches()
    # A few dozen patients: nothing is surprising at a national scale, so every candidate ring is kept, and
    # the planted ring is most of the world's sharing, so its lift over the world's own rate is small.
    result = detect(stored, seed=settings.seed, max_rings=settings.max_rings,
                    config=DetectionConfig.from_mapping({"rings": {"alert_surprise": -1e9}, "cores": {"min_lift": 1.5}}))
    assert len(result.rings), "the tiny claims' planted ring should be detected"
    run_id = "run-test-1"
    window = (stored["service_date"].min().date().isoformat(), stored["service_date"].max().date().isoformat())
    with RunStore(settings.home_path) as runs:
        runs.save_run(run_id, kind="detect", version=__version__, params=result.params,
                      batches=[{"batch_id": str(b.batch_id), "sha256": str(b.sha256), "rows": int(b.rows)}
                               for b in batches.itertuples(index=False)],
                      rings=result.rings, members=result.members, entity_scores=result.entity_scores,
                      window=window, started_at="2025-04-01T10:00:00+00:00")
    # The ring holding the tiny claims' planted providers (the exported one).
    holding = result.members.loc[result.members["entity_id"] == "PRV-CLINIC-R", "ring_id"]
    top = result.rings[result.rings["ring_id"] == holding.iloc[0]].iloc[0]
    return ExportHome(settings, run_id, str(top["ring_id"]), float(top["amount_at_risk"]))


@pytest.fixture(scope="session")
def _export_template(tmp_path_factory) -> dict:
    """Where the session's template home and bundle are, once built."""
    return {"dir": tmp_path_factory.mktemp("export-template")}


@pytest.fixture
def export_home(settings, tiny_claims, _export_template) -> ExportHome:
    """A copy of the template home (tiny claims ingested, detected, run saved, one bundle exported)."""
    if "home" not in _export_template:
        work = _export_template["dir"]
        template = settings.replace(home=str(work / "home"))
        built = _build(template, tiny_claims, work)
        export_ring(template, built.ring_id, work / "ring.zip")
        _export_template.update(home=built, bundle=work / "ring.zip")
    built = _export_template["home"]
    shutil.copytree(built.settings.home_path, settings.home_path)
    return ExportHome(settings, built.run_id, built.ring_id, built.amount_at_risk)


@pytest.fixture
def ring_bundle(export_home, tmp_path, _export_template) -> Path:
    """A copy of the bundle of the top ring, exported (audit entry included) from the template home."""
    return Path(shutil.copy(_export_template["bundle"], tmp_path / "ring.zip"))


def forge_bundle(src: Path, dst: Path, edit) -> Path:
    """A copy of bundle ``src`` whose ``data/`` files pass through ``edit(files)`` (path -> bytes, in place),
    with manifests and the audit entry's payload hash recomputed: what a forger without the fund's key makes.
    """
    import json
    import zipfile

    from export.manifest import AUDIT_ENTRY, manifest_text, payload_hash, write_bag

    with zipfile.ZipFile(src) as zf:
        files = {n: zf.read(n) for n in zf.namelist() if n.startswith("data/")}
        info = zf.read("bag-info.txt").decode("utf-8")
    edit(files)
    entry = json.loads(files[AUDIT_ENTRY])
    entry["params"]["payload_sha256"] = payload_hash(manifest_text({n: d for n, d in files.items()}))
    files[AUDIT_ENTRY] = json.dumps(entry).encode("utf-8")
    bag_info = dict(line.split(": ", 1) for line in info.splitlines() if ": " in line)
    return write_bag(dst, {n.removeprefix("data/"): d for n, d in files.items()}, bag_info)
