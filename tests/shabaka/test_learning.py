"""The learned ranker end to end: refusal below the minimum, grouped folds, determinism,
re-ranking in the weekly run, explanations, model integrity, reproduce."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casework.models import ModelStore
from casework.runs import RunStore
from detectors.learned import MIN_OUTCOMES, TreeModel, cross_validate, export_model, train_model
from ground.errors import StoreError
from ingest.store import ClaimsStore
from ingest.synthetic import generate_frames
from export import export_ring
from export.reproduce import read_provenance, reproduce_bundle
from shabaka.learning import learn
from ground.settings import load_settings
from shabaka.weekly import run_weekly

SHABAKA = str(Path(sys.executable).parent / "shabaka")
START = "2025-03-03"


def _shabaka(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    env["SHABAKA_HOME"] = str(home)
    return subprocess.run([SHABAKA, *args], env=env, capture_output=True, text=True, timeout=600)


def _outcomes(labels: pd.DataFrame, claims: pd.DataFrame, n_dismissed: int) -> pd.DataFrame:
    """Planted providers and doctors confirmed, ``n_dismissed`` ordinary providers dismissed."""
    planted = labels[labels["entity_type"].isin(["PROVIDER", "DOCTOR"])].drop_duplicates(["entity_type", "entity_id"])
    fraud = set(labels["entity_id"])
    ordinary = sorted(set(claims["provider_id"].dropna().astype(str)) - fraud)[:n_dismissed]
    rows = [(t, i, "confirmed") for t, i in zip(planted["entity_type"], planted["entity_id"])]
    rows += [("PROVIDER", i, "dismissed") for i in ordinary]
    frame = pd.DataFrame(rows, columns=["entity_type", "entity_id", "outcome"])
    return frame.assign(decided_on="2025-06-01", source="inspection-2025")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    """A home with generated claims (planted rings) ingested, and outcomes files beside it."""
    work = tmp_path_factory.mktemp("learn")
    data = generate_frames(scale=0.05, seed=3, weeks=8, start=START)
    claims = data.claims.copy()
    for col in ("service_date", "submission_date"):
        claims[col] = claims[col].dt.strftime("%Y-%m-%d")
    claims.to_csv(work / "claims.csv", index=False)
    home = work / "home"
    with ClaimsStore(home) as store:
        store.ingest([work / "claims.csv"])
    full = _outcomes(data.labels, data.claims, 15)
    full.to_csv(work / "outcomes.csv", index=False)
    full.head(MIN_OUTCOMES // 2).to_csv(work / "few.csv", index=False)
    assert len(full) >= MIN_OUTCOMES
    return {"work": work, "home": home}


@pytest.fixture
def home(template, tmp_path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(template["home"], target)
    return target


def _settings(home: Path, **env: str):
    return load_settings(None, {"SHABAKA_HOME": str(home), **env})


def test_below_the_minimum_of_outcomes_nothing_is_trained_and_exit_is_3(home, template):
    assert _shabaka(home, "outcomes", "import", str(template["work"] / "few.csv")).returncode == 0
    proc = _shabaka(home, "learn", "--json")
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    assert out["trained"] is False and out["version"] is None
    assert out["n_outcomes"] < MIN_OUTCOMES and "unsupervised ranking stands alone" in out["message"]
    with ModelStore(home) as models:
        assert models.models().empty
    result = run_weekly(_settings(home), week="2025-W17")
    assert result.model is None
    with RunStore(home) as runs:
        assert "learned_score" not in runs.ring(result.run_id, runs.rings(result.run_id)["ring_id"][0])["extra"]


def test_learn_reports_grouped_cross_validation_against_the_unsupervised_score(home, template):
    _shabaka(home, "outcomes", "import", str(template["work"] / "outcomes.csv"))
    proc = _shabaka(home, "learn", "--report", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("auc", "ap", "baseline_auc", "n_outcomes", "precision_at_k"):
        assert out[key] is not None
    assert out["n_outcomes"] >= MIN_OUTCOMES
    assert out["report"]["max_group_folds"] == 1
    assert out["top_features"] and all(f["meaning"] for f in out["top_features"])
    text = _shabaka(home, "learn", "--report")
    assert "unsupervised score AUC" in text.stdout and "features that weigh most" in text.stdout


def test_grouped_folds_never_split_a_ring():
    rng = np.random.default_rng(0)
    n_rings, size = 12, 6
    keys = [f"PROVIDER:P{i}" for i in range(n_rings * size + 60)]
    groups = pd.Series([f"R{i // size}" if i < n_rings * size else k for i, k in enumerate(keys)], index=keys)
    y = pd.Series([1 if i < n_rings * size and (i // size) % 2 == 0 else int(rng.random() < 0.2)
                   for i in range(len(keys))], index=keys)
    X = pd.DataFrame({"unsupervised_score": rng.normal(size=len(keys)) + y, "noise": rng.normal(size=len(keys))},
                     index=keys)
    report, oof = cross_validate(X, y, groups, X["unsupervised_score"], seed=1)
    assert report.max_group_folds == 1
    assert report.n_splits == 5 and oof.notna().all()


def test_same_seed_gives_the_same_model(home, template):
    _shabaka(home, "outcomes", "import", str(template["work"] / "outcomes.csv"))
    first = learn(_settings(home))
    second = learn(_settings(home))
    assert first.trained and first.version == second.version
    with ModelStore(home) as models:
        assert list(models.models()["version"]) == [first.version]
        doc = models.load(first.version)
    assert doc["params"]["random_state"] == 42
    assert doc["outcomes"]["n"] == first.n_outcomes and len(doc["outcomes"]["hashes"]) == doc["outcomes"]["n_rows"]


def test_path_attribution_adds_up_to_the_log_odds_and_matches_scikit_learn():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["amount", "n_lines", "max_lift", "tadamon_share"])
    X.iloc[::9, 2] = np.nan
    y = pd.Series(((X["amount"] + X["max_lift"].fillna(0)) > 0.3).astype(int))
    clf = train_model(X, y, seed=0)
    model = TreeModel(export_model(clf, list(X.columns), X))
    contrib, bias = model.contributions(X)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy() + bias, model.log_odds(X), atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(X), clf.predict_proba(X.to_numpy())[:, 1], atol=1e-9)
    assert contrib["amount"].abs().mean() > contrib["n_lines"].abs().mean()


def test_an_altered_model_file_is_refused(home, template):
    _shabaka(home, "outcomes", "import", str(template["work"] / "outcomes.csv"))
    version = learn(_settings(home)).version
    path = home / "models" / f"{version}.json"
    doc = json.loads(path.read_text())
    doc["baseline"] += 5.0
    path.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")))
    with ModelStore(home) as models, pytest.raises(StoreError, match="SHA-256"):
        models.load(version)
    with pytest.raises(StoreError):
        run_weekly(_settings(home), week="2025-W17")


def test_weekly_run_reranks_with_the_model_keeps_the_unsupervised_scores_and_explains(home, template):
    settings = _settings(home)
    before = run_weekly(settings, week="2025-W17")
    _shabaka(home, "outcomes", "import", str(template["work"] / "outcomes.csv"))
    version = learn(settings).version
    after = run_weekly(settings, week="2025-W17")
    assert after.run_id != before.run_id and after.model == version
    assert f"learned model {version}" in after.summary_text()
    folder = Path(after.findings_dir)
    rings = pd.read_csv(folder / "rings.csv")
    old = pd.read_csv(Path(before.findings_dir) / "rings.csv")
    assert {"learned_score", "learned_reasons", "unsupervised_rank", "model_version"} <= set(rings.columns)
    assert list(rings["rank"]) == list(range(1, len(rings) + 1))
    assert rings["learned_score"].is_monotonic_decreasing
    assert (rings["model_version"] == version).all()
    # Outcomes never feed the unsupervised detectors: the same rings with the same scores.
    merged = rings.merge(old, on="ring_id", suffixes=("", "_before"))
    assert len(merged) == len(old) == len(rings)
    np.testing.assert_allclose(merged["score"], merged["score_before"])
    assert (merged["unsupervised_rank"] == merged["rank_before"]).all()
    scores = pd.read_csv(folder / "entity_scores.csv", keep_default_na=False)
    assert {"score", "top_reason", "learned_score", "learned_reasons"} <= set(scores.columns)
    assert (scores["learned_reasons"].str.len() > 0).all()
    assert scores["learned_reasons"].str.contains(r"\([+-]\d").any()
    with RunStore(home) as runs:
        assert runs.run(after.run_id)["params"]["model"] == version
        top = runs.ring(after.run_id, rings["ring_id"][0])
    assert top["extra"]["model_version"] == version and top["extra"]["learned_reasons"]
    member_ids = set(pd.read_csv(folder / "members.csv", dtype=str)["entity_id"])
    assert not any(i in reason for reason in rings["learned_reasons"].dropna() for i in member_ids)


def test_bundle_records_the_model_and_reproduce_still_finds_the_ring(home, template, tmp_path):
    settings = _settings(home)
    _shabaka(home, "outcomes", "import", str(template["work"] / "outcomes.csv"))
    version = learn(settings).version
    result = run_weekly(settings, week="2025-W17")
    top = pd.read_csv(Path(result.findings_dir) / "rings.csv")["ring_id"][0]
    bundle = export_ring(settings, top, tmp_path / "ring.zip")
    prov = read_provenance(bundle)
    assert prov["params"]["model"] == version
    assert reproduce_bundle(bundle, settings).same
