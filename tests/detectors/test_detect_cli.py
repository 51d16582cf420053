"""``shabaka detect`` and ``shabaka evaluate`` through the command line."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from ingest.store import ClaimsStore
from shabaka.cli import cli
from casework.runs import RunStore


def _load(settings, claims, tmp_path):
    path = tmp_path / "claims.csv"
    out = claims.copy()
    for col in ("service_date", "submission_date"):
        out[col] = out[col].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
    with ClaimsStore(settings.home_path) as store:
        store.ingest([path])


def test_detect_writes_findings_and_stores_the_run(settings, pattern_claims, tmp_path):
    _load(settings, pattern_claims, tmp_path)
    out = tmp_path / "findings"
    result = CliRunner().invoke(cli, ["--home", str(settings.home_path), "detect", "--out", str(out),
                                      "--seed", "5"], obj=settings)
    assert result.exit_code == 0, result.output
    rings = pd.read_csv(out / "rings.csv")
    assert len(rings) >= 3
    with RunStore(settings.home_path) as runs:
        run_id = runs.latest_run_id("detect")
        stored = runs.rings(run_id)
        run = runs.run(run_id)
    assert stored["ring_id"].tolist() == rings["ring_id"].tolist()
    assert run["params"]["seed"] == 5 and len(run["batches"]) == 1


def test_detect_on_an_empty_window_says_so(settings, pattern_claims, tmp_path):
    _load(settings, pattern_claims, tmp_path)
    result = CliRunner().invoke(cli, ["--home", str(settings.home_path), "detect", "--from", "2030-01-01",
                                      "--out", str(tmp_path / "f")])
    assert result.exit_code != 0 and "no claims" in str(result.exception)


def test_evaluate_reports_recall_against_labels(pattern_result, tmp_path, planted_ring):
    from dataclasses import replace

    from detectors.io import write_findings

    # The planted funnel first, then the other rings in their order: what evaluate reads is the rank.
    rings = pattern_result.rings.assign(funnel=pattern_result.rings["scenario"] != "recruiter_funnel").sort_values(
        ["funnel", "rank"], kind="mergesort").drop(columns="funnel")
    rings["rank"] = range(1, len(rings) + 1)
    write_findings(replace(pattern_result, rings=rings.reset_index(drop=True)), tmp_path / "f")
    labels = pd.DataFrame(
        [("PROVIDER", p, "RING-001", "clinic", "recruiter_funnel") for p in sorted(planted_ring["providers"])]
        + [("DOCTOR", planted_ring["doctor"], "RING-001", "surgeon", "recruiter_funnel")]
        + [("BENEFICIARY", b, "RING-001", "recruited_patient", "recruiter_funnel")
           for b in sorted(planted_ring["beneficiaries"])],
        columns=["entity_type", "entity_id", "ring_id", "role", "scenario"])
    labels.to_csv(tmp_path / "labels.csv", index=False)
    result = CliRunner().invoke(cli, ["evaluate", "--truth", str(tmp_path / "labels.csv"), "--findings",
                                      str(tmp_path / "f"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ring_recall"] == 1.0 and report["recruited_recall"] == 1.0
    assert report["ring_precision"] == 0.5  # top 2N = 2 rings, one of them another planted pattern
    text = CliRunner().invoke(cli, ["evaluate", "--truth", str(tmp_path / "labels.csv"), "--findings",
                                    str(tmp_path / "f")])
    assert "ring_recall" in text.output and "recruiter_funnel" in text.output
