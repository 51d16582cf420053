"""Fixtures of the export tests: a Shabaka home with ingested claims and one detection run.

Built through the real APIs: the tiny claims are written to a CSV, ingested by
``ClaimsStore``, detected by ``detectors.pipeline.detect`` and saved by ``RunStore``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from detectors.pipeline import detect
from ingest.store import ClaimsStore
from shabaka import __version__
from shabaka.runs import RunStore


@dataclass
class ExportHome:
    """A home with claims and a run; ``ring_id`` is the run's top ring."""

    settings: object
    run_id: str
    ring_id: str
    amount_at_risk: float
    csv_path: Path


def write_claims_csv(claims: pd.DataFrame, path: Path) -> Path:
    """Write contract claims as a contract CSV (dates YYYY-MM-DD, booleans true/false)."""
    out = claims.copy()
    for col in ("service_date", "submission_date"):
        out[col] = out[col].dt.strftime("%Y-%m-%d")
    out["ald"] = out["ald"].map({True: "true", False: "false"})
    out.to_csv(path, index=False)
    return path


@pytest.fixture
def export_home(settings, tiny_claims, tmp_path) -> ExportHome:
    """Ingest the tiny claims, detect, save the run; return where the ring is."""
    csv_path = write_claims_csv(tiny_claims, tmp_path / "claims.csv")
    with ClaimsStore(settings.home_path) as store:
        store.ingest([csv_path])
        claims = store.claims()
        batches = store.batches()
        providers = store.providers()
    result = detect(claims, seed=settings.seed, max_rings=settings.max_rings,
                    providers=providers if len(providers) else None)
    assert len(result.rings), "the tiny claims' planted ring should be detected"
    run_id = "run-test-1"
    window = (claims["service_date"].min().date().isoformat(), claims["service_date"].max().date().isoformat())
    with RunStore(settings.home_path) as runs:
        runs.save_run(run_id, kind="detect", version=__version__, params=result.params,
                      batches=[{"batch_id": str(b.batch_id), "sha256": str(b.sha256), "rows": int(b.rows)}
                               for b in batches.itertuples(index=False)],
                      rings=result.rings, members=result.members, entity_scores=result.entity_scores,
                      window=window, started_at="2025-04-01T10:00:00+00:00")
    top = result.rings.iloc[0]
    return ExportHome(settings, run_id, str(top["ring_id"]), float(top["amount_at_risk"]), csv_path)
