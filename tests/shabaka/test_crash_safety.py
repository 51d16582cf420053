"""Every writer killed (SIGKILL) at random points leaves the previous state whole, and the next run completes.

Each test runs the installed ``shabaka`` command in a subprocess on a copy of a
home, kills it after a delay drawn (seeded) within the time an uninterrupted run of
the same verb took, checks what the kill left, then runs the verb again to the end.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from export import verify_bundle
from tests.conftest import make_tiny_claims
from tests.export.conftest import write_claims_csv

WEEK = "2025-W11"
KILLS = 3  # kill points per verb


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    env.update(SHABAKA_HOME=str(home), SHABAKA_LOG_LEVEL="WARNING")
    # The tiny claims' few dozen patients surprise no threshold: report every candidate ring.
    config = home / "detection.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[rings]\nalert_surprise = -1e9\n", encoding="utf-8")
    env["SHABAKA_DETECTION_CONFIG"] = str(config)
    return env


def _timed(cmd: list[str], home: Path) -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(home), timeout=300)
    return done, time.monotonic() - began


def _killed(cmd: list[str], home: Path, delay: float) -> int:
    """Run ``cmd``, SIGKILL it after ``delay`` seconds (if still running); its return code."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(home))
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _delays(seconds: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return sorted(rng.uniform(0.15, 0.95) * seconds for _ in range(KILLS))


def _claims_csv(path: Path, weeks_shift: int = 0, suffix: str = "") -> Path:
    claims = make_tiny_claims()
    claims["claim_id"] = claims["claim_id"].astype(str) + suffix
    for col in ("service_date", "submission_date"):
        claims[col] = claims[col] + pd.Timedelta(weeks=weeks_shift)
    return write_claims_csv(claims, path)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, shabaka_cmd) -> dict:
    """A home after one weekly run on the tiny claims, and how long that run took."""
    work = tmp_path_factory.mktemp("crash")
    home = work / "home"
    (home / "inbox").mkdir(parents=True)
    _claims_csv(home / "inbox" / "w1.csv")
    done, seconds = _timed([shabaka_cmd, "run", "--week", WEEK, "--quiet"], home)
    assert done.returncode == 0, done.stderr
    return {"home": home, "seconds": seconds, "run_id": os.readlink(home / "runs" / "latest")}


@pytest.fixture
def home(first_run, tmp_path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(first_run["home"], target, symlinks=True)
    return target


def _stored_runs(home: Path) -> list[str]:
    with sqlite3.connect(home / "shabaka.sqlite") as conn:
        return [r[0] for r in conn.execute("SELECT run_id FROM runs WHERE kind = 'weekly' ORDER BY run_id")]


def _graph_nodes(home: Path) -> set[str]:
    with sqlite3.connect(home / "graph.sqlite") as conn:
        return {r[0] for r in conn.execute("SELECT node_id FROM nodes")}


def _check_run_state(home: Path, previous: str) -> None:
    """Whatever the kill left: latest points at a stored, whole run, and a stored run has its graph and ring pages."""
    runs = _stored_runs(home)
    latest = os.readlink(home / "runs" / "latest")
    assert latest in runs and latest in (previous, runs[-1])
    for run_id in runs:
        folder = home / "runs" / run_id
        assert {"rings.csv", "members.csv", "entity_scores.csv", "alerts.csv", "summary.json"} <= {
            p.name for p in folder.iterdir()}, f"stored run {run_id} has an incomplete folder"
        with sqlite3.connect(home / "ringpages" / f"{run_id}.sqlite") as pages:
            stored = {r[0] for r in pages.execute("SELECT ring_id FROM pages")}
        assert stored == set(pd.read_csv(folder / "rings.csv", dtype=str)["ring_id"]), \
            f"stored run {run_id} lacks ring pages"
    members = pd.read_csv(home / "runs" / runs[-1] / "members.csv", dtype=str)
    nodes = _graph_nodes(home)
    # the newest stored run's members are nodes of the embedded graph: its refresh came first
    missing = {f"{t}:{i}" for t, i in zip(members["entity_type"], members["entity_id"])} - nodes
    assert not missing, f"graph lacks members of stored run {runs[-1]}: {sorted(missing)[:5]}"


@pytest.mark.parametrize("seed", [1, 2])
def test_run_killed_at_random_points_keeps_the_previous_run_and_the_next_run_completes(
        shabaka_cmd, first_run, home, seed):
    previous = first_run["run_id"]
    _claims_csv(home / "inbox" / "w2.csv", weeks_shift=1, suffix="-W2")
    cmd = [shabaka_cmd, "run", "--week", "2025-W12", "--quiet"]
    for delay in _delays(first_run["seconds"] * 1.3, seed):
        _killed(cmd, home, delay)
        _check_run_state(home, previous)
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(home), timeout=300)
    assert done.returncode in (0, 3), done.stderr  # 3 when a killed attempt had already stored it whole
    runs = _stored_runs(home)
    assert os.readlink(home / "runs" / "latest") == runs[-1] != previous
    _check_run_state(home, previous)
    assert not [p.name for p in (home / "runs").iterdir() if p.name.startswith(".")], "debris of a killed run"
    assert not [p.name for p in (home / "ringpages").iterdir() if p.name.startswith(".")], "ring pages debris"


def test_run_killed_after_storing_is_finished_by_the_next_run(shabaka_cmd, first_run, home):
    """The window between storing the run and repointing latest: the next run repoints it."""
    previous = first_run["run_id"]
    _claims_csv(home / "inbox" / "w2.csv", weeks_shift=1, suffix="-W2")
    cmd = [shabaka_cmd, "run", "--week", "2025-W12", "--quiet"]
    assert subprocess.run(cmd, capture_output=True, env=_env(home), timeout=300).returncode == 0
    newest = os.readlink(home / "runs" / "latest")
    os.remove(home / "runs" / "latest")
    (home / "runs" / "latest").symlink_to(previous)  # as a kill just before the repointing leaves it
    (home / "runs" / f".{newest}.abc123").mkdir()  # and a temporary folder of a killed attempt
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(home), timeout=300)
    assert done.returncode == 3, done.stderr
    assert os.readlink(home / "runs" / "latest") == newest
    assert not (home / "runs" / f".{newest}.abc123").exists()


def test_ring_pages_missing_from_a_stored_run_are_built_by_the_next_run(shabaka_cmd, first_run, home):
    """A run stored without its ring pages (by an older version, or the file lost): the next run builds them."""
    pages = home / "ringpages" / f"{first_run['run_id']}.sqlite"
    pages.unlink()
    for suffix in ("", "-journal"):  # what a killed writer leaves
        (home / "ringpages" / f".{first_run['run_id']}.999999999.tmp{suffix}").write_bytes(b"half")
    cmd = [shabaka_cmd, "run", "--week", WEEK, "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(home), timeout=300)
    assert done.returncode == 3, done.stderr
    assert pages.is_file()
    _check_run_state(home, first_run["run_id"])
    assert not [p.name for p in (home / "ringpages").iterdir() if p.name.startswith(".")]


def test_a_failed_neo4j_push_is_retried_by_the_next_run_not_reported_as_nothing_new(shabaka_cmd, home):
    _claims_csv(home / "inbox" / "w2.csv", weeks_shift=1, suffix="-W2")
    env = _env(home)
    env.update(SHABAKA_NEO4J_URI="bolt://127.0.0.1:9", SHABAKA_NEO4J_PASSWORD="x")
    cmd = [shabaka_cmd, "run", "--week", "2025-W12", "--json"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 1, first.stderr
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 1, "a push still failing is a failure, not 'nothing new'"
    assert '"neo4j": "push failed' in again.stdout


@pytest.mark.parametrize("seed", [3])
def test_graph_build_killed_keeps_the_previous_graph_whole(shabaka_cmd, home, seed):
    before = _graph_nodes(home)
    with sqlite3.connect(home / "graph.sqlite") as conn:
        built_at = dict(conn.execute("SELECT key, value FROM meta"))["built_at"]
    cmd = [shabaka_cmd, "graph", "build"]
    done, seconds = _timed(cmd, home)
    assert done.returncode == 0, done.stderr
    for delay in _delays(seconds, seed):
        _killed(cmd, home, delay)
        with sqlite3.connect(home / "graph.sqlite") as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            counts = (conn.execute("SELECT COUNT(*) FROM nodes").fetchone()[0],
                      conn.execute("SELECT COUNT(*) FROM edges").fetchone()[0])
        assert counts == (int(meta["n_nodes"]), int(meta["n_edges"])), "half a graph"
        assert meta["built_at"] >= built_at
    assert subprocess.run(cmd, capture_output=True, env=_env(home), timeout=300).returncode == 0
    assert _graph_nodes(home) >= before


@pytest.mark.parametrize("seed", [4])
def test_export_killed_keeps_the_previous_bundle_and_leaves_no_debris(shabaka_cmd, first_run, home, tmp_path,
                                                                      seed):
    ring_id = pd.read_csv(home / "runs" / "latest" / "rings.csv")["ring_id"].iloc[0]
    out = tmp_path / "out" / "ring.zip"
    cmd = [shabaka_cmd, "export", ring_id, "--out", str(out)]
    done, seconds = _timed(cmd, home)
    assert done.returncode == 0, done.stderr
    before = out.read_bytes()
    for delay in _delays(seconds, seed):
        _killed(cmd, home, delay)
        assert verify_bundle(out).ok
        with zipfile.ZipFile(out) as z:
            assert z.read("data/members.csv") == zipfile.ZipFile(
                __import__("io").BytesIO(before)).read("data/members.csv")
    assert subprocess.run(cmd, capture_output=True, env=_env(home), timeout=300).returncode == 0
    assert verify_bundle(out).ok
    assert [p.name for p in out.parent.iterdir()] == ["ring.zip"], "temporary files of killed exports remain"


@pytest.mark.parametrize("seed", [5])
def test_ingest_killed_leaves_whole_batches_and_the_next_ingest_completes(shabaka_cmd, home, tmp_path, seed):
    files = [_claims_csv(tmp_path / f"b{k}.csv", weeks_shift=k, suffix=f"-B{k}") for k in range(2, 5)]
    cmd = [shabaka_cmd, "ingest", "--chunk-rows", "4", *map(str, files)]
    probe = tmp_path / "probe"
    shutil.copytree(home, probe, symlinks=True)
    done, seconds = _timed(cmd, probe)
    assert done.returncode == 0, done.stderr
    for delay in _delays(seconds, seed):
        _killed(cmd, home, delay)
        with sqlite3.connect(home / "shabaka.sqlite") as conn:
            batches = conn.execute("SELECT batch_id, rows FROM claim_batches").fetchall()
            parts = dict(conn.execute("SELECT batch_id, SUM(rows) FROM claim_parts GROUP BY batch_id").fetchall())
        keys = [(b, np.load(home / "claims" / b / "keys.npy").shape[1]) for b, _ in batches]
        assert sorted(batches) == sorted(keys), "a batch without all its keys"
        assert sorted(batches) == sorted(parts.items()), "a batch without all its parts, or parts without their batch"
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=_env(home), timeout=300)
    assert done.returncode == 0, done.stderr
    from ingest.store import ClaimsStore

    with ClaimsStore(home) as store:
        assert len(store.claims()) == 64 * 4
        assert sorted(p.name for p in store.claims_dir.iterdir() if not p.name.startswith(".")) == sorted(
            store.batches()["parquet_name"])
