"""Case edits killed (SIGKILL) mid-stream: every acknowledged edit is kept, none is half-written."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

from casework.cases import CaseStore

_CHILD = textwrap.dedent("""
    import sys
    from casework.cases import CaseStore
    with CaseStore(sys.argv[1]) as cases:
        cases.open_case("RING-K", actor="alice")
        n = 0
        while True:
            n += 1
            cases.comment("RING-K", author="alice", body=f"note {n}")
            cases.update("RING-K", status=("in_progress", "open")[n % 2], disposition=f"after note {n}")
            print(n, flush=True)
""")


def test_case_edits_killed_keep_every_acknowledged_edit_whole(tmp_path):
    home = tmp_path / "home"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(home)], stdout=subprocess.PIPE, text=True,
                             cwd=os.getcwd())
    acknowledged = 0
    for line in child.stdout:
        acknowledged = int(line)
        if acknowledged >= 25:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    with sqlite3.connect(home / "shabaka.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with CaseStore(home) as cases:
        case = cases.case("RING-K")
        bodies = [c["body"] for c in case["comments"]]
        assert bodies == [f"note {k}" for k in range(1, len(bodies) + 1)], "a comment lost or duplicated"
        assert len(bodies) >= acknowledged
        # the disposition is that of the last finished update: the one after the last comment, or the one before
        assert case["disposition"] in (f"after note {len(bodies)}", f"after note {len(bodies) - 1}")
        cases.comment("RING-K", author="bob", body="after the kill")  # the store still takes edits
        assert cases.case("RING-K")["comments"][-1]["body"] == "after the kill"
