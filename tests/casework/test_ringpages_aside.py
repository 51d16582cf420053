"""Ring pages written by worker processes are the pages the run writes itself; their failure is the run's."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from casework.ringpages import pages_path, write_ring_pages
from casework.ringpages_aside import PagesAside, can_write_aside
from detectors.pipeline import detect
from ground.errors import StoreError
from ingest.store import ClaimsStore
from tests.casework.test_ringpages import EVERY_RING, _claims
from tests.export.conftest import write_claims_csv
from web.story import page_story

pytestmark = pytest.mark.skipif(not can_write_aside(), reason="needs fork and two cores")


@pytest.fixture
def inputs(settings, tmp_path):
    csv = write_claims_csv(_claims(), tmp_path / "claims.csv")
    with ClaimsStore(settings.home_path) as store:
        store.ingest([csv])
        window = store.claims(encoded=True)
    result = detect(window, seed=42, config=EVERY_RING)
    assert len(result.rings)
    # each ring four times over, under other ids: rings enough for every worker's share
    copies = [f"-{k}" for k in range(4)]
    rings = pd.concat([result.rings.assign(ring_id=result.rings["ring_id"] + c) for c in copies], ignore_index=True)
    members = pd.concat([result.members.assign(ring_id=result.members["ring_id"] + c) for c in copies],
                        ignore_index=True)
    return dict(kind="weekly", claims=window, rings=rings, members=members, config=EVERY_RING,
                intermediaries=result.intermediaries, story=page_story)


def _contents(path) -> dict:
    with sqlite3.connect(path) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("pages", "parts", "lines")} | {
            "meta": conn.execute("SELECT * FROM meta WHERE key != 'built_at' ORDER BY key").fetchall()}


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_pages_written_aside_in_shares_are_the_pages_written_in_process(settings, inputs, workers):
    home = settings.home_path
    here = _contents(write_ring_pages(home, "run-1", **inputs))
    aside = PagesAside(home, "run-1", workers=workers, **inputs).join()
    assert aside == pages_path(home, "run-1")
    assert _contents(aside) == here and here["parts"] and here["lines"] and len(here["pages"]) >= workers
    with sqlite3.connect(aside) as conn:  # the rings in their order, as one writer puts them
        assert [r[0] for r in conn.execute("SELECT ring_id FROM pages")] == list(inputs["rings"]["ring_id"])
    assert not [p.name for p in aside.parent.iterdir() if p.name.startswith(".")], "part files left"


def test_a_failing_worker_makes_join_raise_and_leaves_no_pages(settings, inputs):
    def broken(claims, providers):
        def tell(*args, **kwargs):
            raise ValueError("the story maker broke")
        return tell

    worker = PagesAside(settings.home_path, "run-2", workers=2, **{**inputs, "story": broken})
    with pytest.raises(StoreError, match="run-2 failed: ValueError: the story maker broke"):
        worker.join()
    folder = pages_path(settings.home_path, "run-2").parent
    assert not pages_path(settings.home_path, "run-2").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], "debris left"


def test_a_cancelled_worker_is_stopped_and_writes_nothing(settings, inputs):
    def slow(claims, providers):
        def tell(*args, **kwargs):
            time.sleep(60)
        return tell

    worker = PagesAside(settings.home_path, "run-3", **{**inputs, "story": slow})
    worker.cancel()
    assert not any(process.is_alive() for process, _ in worker._workers)
    assert not pages_path(settings.home_path, "run-3").exists()


_PARENT = """
import sys, time
import pandas as pd
from casework.ringpages_aside import PagesAside
from tests.conftest import make_tiny_claims

def slow(claims, providers):
    time.sleep(120)

members = pd.DataFrame(columns=["ring_id", "entity_type", "entity_id", "role", "score", "evidence"])
worker = PagesAside(sys.argv[1], "run-4", kind="weekly", claims=make_tiny_claims(), rings=pd.DataFrame(),
                    members=members, story=slow)
print(worker._workers[0][0].pid, flush=True)
time.sleep(120)
"""


def test_the_worker_dies_with_a_killed_run(tmp_path):
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(tmp_path / "home")], cwd=root,
                              stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    assert Path(f"/proc/{worker}").exists()
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    for _ in range(100):  # the kernel kills the worker with its parent
        if not Path(f"/proc/{worker}").exists() or "zombie" in Path(f"/proc/{worker}/status").read_text().lower():
            break
        time.sleep(0.05)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the ring pages worker outlived its killed run")
