"""A load killed part-way leaves a consistent store, and the next run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from ingest.store import ClaimsStore

_CHILD = textwrap.dedent("""
    import sys, time
    from ingest.store import ClaimsStore
    calls = 0
    def slow(n):
        global calls
        calls += 1
        print(calls, flush=True)
        time.sleep(0.02)
    ClaimsStore(sys.argv[1]).ingest(sys.argv[2:], chunk_rows=1, after_chunk=slow)
""")


def test_sigkill_during_a_load_leaves_whole_batches_and_the_next_run_completes(tmp_path, claims_lines):
    home = tmp_path / "home"
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("\n".join(claims_lines[:11]) + "\n")
    second.write_text("\n".join([claims_lines[0]] + claims_lines[11:]) + "\n")
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(home), str(first), str(second)],
                             stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    for line in child.stdout:
        if int(line) >= 20:  # the first file's 10 chunks are committed; the second is half staged
            break
    assert any(p.name.endswith(".tmp") for p in (home / "claims").iterdir())
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()

    with ClaimsStore(home) as store:
        leftovers = [p.name for p in store.claims_dir.iterdir() if not p.name.startswith(".ingest")]
        assert leftovers == list(store.batches()["parquet_name"])
        assert store.batches()["source_name"].tolist() == ["a.csv"]
        assert len(store.claims()) == 10
        assert store.loads()["read"].tolist() == [10]
        report = store.ingest([first, second])
        assert [f.status for f in report.files] == ["already_loaded", "loaded"]
        assert report.loaded == 54 and report.quarantined == 0
        assert len(store.claims()) == 64
