"""State files are created 0600 (folders 0700) even under a umask that would let anyone read them."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from ground.files import create_private, open_private, private_dir
from tests.export.conftest import write_claims_csv


@pytest.fixture
def open_umask():
    """Run the test under umask 000, restored afterwards."""
    old = os.umask(0)
    yield
    os.umask(old)


def _modes(root):
    """(path, mode) of every file and folder under ``root`` (symlinks left out)."""
    for folder, dirs, files in os.walk(root):
        yield folder, stat.S_IMODE(os.lstat(folder).st_mode)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                yield path, stat.S_IMODE(os.lstat(path).st_mode)


def test_helpers_ignore_the_umask(tmp_path, open_umask):
    folder = private_dir(tmp_path / "a" / "b")
    created = create_private(folder / "db")
    with open_private(folder / "notes.txt") as handle:
        handle.write("x")
    assert [oct(m) for _, m in _modes(tmp_path / "a")] == ["0o700", "0o700", "0o600", "0o600"]
    os.chmod(created, 0o640)
    create_private(created)  # an existing file is left as it is
    assert stat.S_IMODE(os.stat(created).st_mode) == 0o640


def test_every_state_file_of_a_weekly_run_and_an_export_is_private(settings, tiny_claims, tmp_path):
    from export import export_ring
    from ingest.store import ClaimsStore
    from shabaka.weekly import run_weekly

    inbox = settings.inbox_path
    os.makedirs(inbox, mode=0o700)  # the user's own folders
    os.chmod(settings.home_path, 0o700)
    write_claims_csv(tiny_claims, inbox / "claims.csv")
    config = tmp_path / "detection.toml"  # the tiny claims surprise no threshold: report every candidate ring
    config.write_text("[rings]\nalert_surprise = -1e9\n", encoding="utf-8")
    settings = settings.replace(detection_config=str(config))
    old = os.umask(0)
    try:
        _run_and_check(settings, tmp_path, export_ring, ClaimsStore, run_weekly)
    finally:
        os.umask(old)


def _run_and_check(settings, tmp_path, export_ring, ClaimsStore, run_weekly):
    result = run_weekly(settings, week="2025-W11")
    assert result.exit_code == 0
    ring_id = pd.read_csv(settings.home_path / "runs" / "latest" / "rings.csv")["ring_id"].iloc[0]
    bundle = export_ring(settings, ring_id, tmp_path / "out" / "ring.zip")
    with ClaimsStore(settings.home_path) as store:  # an open connection: the -wal and -shm files exist
        store.quarantine(reason="BAD_DATE")
        names = {os.path.basename(p) for p, _ in _modes(settings.home_path)}
        assert {"shabaka.sqlite", "shabaka.sqlite-wal", "shabaka.sqlite-shm"} <= names
        assert (settings.home_path / "graph.sqlite").is_file()  # a link to the current build, under graphs/
        loose = [(p, oct(m)) for p, m in _modes(settings.home_path) if m & 0o077]
    assert not loose, f"readable by others: {loose}"
    assert any(p.endswith(".parquet") for p, _ in _modes(settings.home_path))
    assert any("runs" in p and p.endswith("members.csv") for p, _ in _modes(settings.home_path))
    assert stat.S_IMODE(os.stat(bundle).st_mode) == 0o600
