"""Every documented exit code of every verb, through the installed ``shabaka`` command.

Each test runs the console script in a subprocess, so the code checked is the one a
shell (``shabaka verify ring.zip && ...``), cron or systemd sees: the path through
:func:`shabaka.cli.main`, which click's CliRunner does not take.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from shabaka.cli import EXIT_CODES
from shabaka.lock import RunLock
from tests.export.conftest import write_claims_csv

WEEK = "2025-W11"  # the tiny claims are of March 2025
DETECTION_CONFIG = "detection.toml"


def _shabaka(cmd: str, home: Path, *args: str, stdin: str = "", timeout: float = 120,
             env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    full.update(SHABAKA_HOME=str(home), SHABAKA_LOG_LEVEL="WARNING")
    if (home / DETECTION_CONFIG).exists():
        full["SHABAKA_DETECTION_CONFIG"] = str(home / DETECTION_CONFIG)
    full.update(env or {})
    return subprocess.run([cmd, *args], input=stdin, capture_output=True, text=True, env=full, timeout=timeout,
                          cwd=home.parent)


def _every_ring(home: Path) -> None:
    """A detection configuration in ``home`` reporting every candidate ring (the tiny claims' few dozen
    patients surprise nobody); :func:`_shabaka` hands it to every command run on that home or its copies."""
    (home / DETECTION_CONFIG).write_text("[rings]\nalert_surprise = -1e9\n", encoding="utf-8")


@pytest.fixture(scope="module")
def _template(tmp_path_factory, shabaka_cmd) -> dict:
    """A home built by the command itself: the tiny claims through the inbox, one weekly run, one bundle."""
    from tests.conftest import make_tiny_claims

    work = tmp_path_factory.mktemp("cli-exit")
    home = work / "home"
    (home / "inbox").mkdir(parents=True)
    write_claims_csv(make_tiny_claims(), home / "inbox" / "claims.csv")
    _every_ring(home)
    done = _shabaka(shabaka_cmd, home, "run", "--week", WEEK, "--quiet")
    assert done.returncode == 0, done.stderr
    ring_id = pd.read_csv(home / "runs" / "latest" / "rings.csv")["ring_id"].iloc[0]
    done = _shabaka(shabaka_cmd, home, "export", ring_id, "--out", str(work / "ring.zip"))
    assert done.returncode == 0, done.stderr
    return {"home": home, "bundle": work / "ring.zip", "ring_id": ring_id}


@pytest.fixture
def home(_template, tmp_path) -> Path:
    """A private copy of the template home."""
    target = tmp_path / "home"
    shutil.copytree(_template["home"], target, symlinks=True)
    return target


@pytest.fixture
def bundle(_template, tmp_path) -> Path:
    return Path(shutil.copy(_template["bundle"], tmp_path / "ring.zip"))


def _rewrite(bundle: Path, change) -> Path:
    """A copy of ``bundle`` whose members pass through ``change(name, data) -> bytes | None`` (None drops)."""
    out = bundle.with_name("tampered.zip")
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
    return out


def _member(bundle: Path, suffix: str) -> str:
    with zipfile.ZipFile(bundle) as z:
        return next(n for n in z.namelist() if n.endswith(suffix))


def _flip_byte(name: str, data: bytes, target: str) -> bytes:
    if name != target:
        return data
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


def test_every_exit_code_is_documented_in_the_readme():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in EXIT_CODES:
        assert f"| {code} |" in section, f"exit code {code} missing from the README's exit codes table"


# verify ---------------------------------------------------------------------------------------------

def test_verify_intact_bundle_exits_0(shabaka_cmd, home, bundle):
    done = _shabaka(shabaka_cmd, home, "verify", str(bundle))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("tamper", ["graphml byte", "ring.csv edited", "claims.csv edited", "members.csv removed"])
def test_verify_tampered_bundle_exits_1(shabaka_cmd, home, bundle, tamper):
    if tamper == "graphml byte":
        target = _member(bundle, ".graphml")
        bad = _rewrite(bundle, lambda n, d: _flip_byte(n, d, target))
    elif tamper == "members.csv removed":
        target = _member(bundle, "data/members.csv")
        bad = _rewrite(bundle, lambda n, d: None if n == target else d)
    else:
        target = _member(bundle, "data/" + tamper.split()[0])
        bad = _rewrite(bundle, lambda n, d: d.replace(b"\n", b"\n ", 1) if n == target else d)
    done = _shabaka(shabaka_cmd, home, "verify", str(bad))
    assert done.returncode == 1, done.stdout + done.stderr
    assert target.split("/", 1)[1] in done.stdout
    as_json = _shabaka(shabaka_cmd, home, "verify", "--json", str(bad))
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["ok"] is False


def test_the_readme_chain_stops_at_a_tampered_bundle(shabaka_cmd, home, bundle):
    target = _member(bundle, "data/ring.csv")
    bad = _rewrite(bundle, lambda n, d: d.replace(b"\n", b"\n ", 1) if n == target else d)
    chained = subprocess.run(f"'{shabaka_cmd}' verify '{bad}' && echo CARRIED-ON", shell=True, capture_output=True,
                             text=True, env=dict(os.environ, SHABAKA_HOME=str(home)))
    assert chained.returncode == 1 and "CARRIED-ON" not in chained.stdout


def test_verify_refuses_what_is_not_a_bundle_with_2(shabaka_cmd, home, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    done = _shabaka(shabaka_cmd, home, "verify", str(junk))
    assert done.returncode == 2 and "junk.zip" in done.stderr and "Traceback" not in done.stderr
    assert _shabaka(shabaka_cmd, home, "verify", str(tmp_path / "absent.zip")).returncode == 2


# reproduce ------------------------------------------------------------------------------------------

def test_reproduce_same_members_exits_0(shabaka_cmd, home, bundle):
    done = _shabaka(shabaka_cmd, home, "reproduce", str(bundle))
    assert done.returncode == 0, done.stdout + done.stderr


def test_reproduce_tampered_bundle_exits_1(shabaka_cmd, home, bundle):
    target = _member(bundle, ".graphml")
    done = _shabaka(shabaka_cmd, home, "reproduce", str(_rewrite(bundle, lambda n, d: _flip_byte(n, d, target))))
    assert done.returncode == 1, done.stdout + done.stderr


def test_reproduce_without_the_claim_batches_exits_2(shabaka_cmd, bundle, tmp_path):
    done = _shabaka(shabaka_cmd, tmp_path / "empty-home", "reproduce", str(bundle))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not in the claims store" in done.stderr


# export ---------------------------------------------------------------------------------------------

def test_export_exits_0_and_an_unknown_ring_exits_2(shabaka_cmd, home, _template, tmp_path):
    done = _shabaka(shabaka_cmd, home, "export", _template["ring_id"], "--out", str(tmp_path / "b.zip"))
    assert done.returncode == 0 and (tmp_path / "b.zip").is_file(), done.stderr
    done = _shabaka(shabaka_cmd, home, "export", "RING-NOPE", "--out", str(tmp_path / "c.zip"))
    assert done.returncode == 2 and "RING-NOPE" in done.stderr and not (tmp_path / "c.zip").exists()


# run ------------------------------------------------------------------------------------------------

def test_run_again_on_the_same_batches_exits_3(shabaka_cmd, home):
    done = _shabaka(shabaka_cmd, home, "run", "--week", WEEK, "--quiet")
    assert done.returncode == 3, done.stdout + done.stderr


def test_run_with_a_refused_inbox_file_exits_2_and_still_runs(shabaka_cmd, home):
    (home / "inbox" / "broken.csv").write_text("not,a,claims,header\n1,2,3,4\n", encoding="utf-8")
    done = _shabaka(shabaka_cmd, home, "run", "--week", WEEK, "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert [f["status"] for f in summary["files"]] == ["rejected"]
    assert (home / "inbox" / "rejected" / "broken.csv").is_file()


def test_run_with_a_missing_inbox_exits_2_naming_it(shabaka_cmd, home, tmp_path):
    done = _shabaka(shabaka_cmd, home, "run", "--inbox", str(tmp_path / "nonexistent"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "nonexistent" in done.stderr and "no such folder" in done.stderr
    done = _shabaka(shabaka_cmd, home, "run", env={"SHABAKA_INBOX": str(tmp_path / "gone")})
    assert done.returncode == 2 and "gone" in done.stderr


def test_run_with_a_bad_week_exits_2(shabaka_cmd, home):
    done = _shabaka(shabaka_cmd, home, "run", "--week", "2025-W99")
    assert done.returncode == 2 and "ISO week" in done.stderr


def test_run_while_another_holds_the_lock_exits_1(shabaka_cmd, home):
    with RunLock(home / "run.lock"):
        done = _shabaka(shabaka_cmd, home, "run", "--week", WEEK)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_run_whose_neo4j_push_fails_exits_1(shabaka_cmd, home):
    (home / "inbox" / "more.csv").write_text((home / "inbox" / "processed" / "claims.csv").read_text()
                                             .replace("CLM-00", "CLM-90"), encoding="utf-8")
    done = _shabaka(shabaka_cmd, home, "run", "--week", WEEK, "--quiet",
                    env={"SHABAKA_NEO4J_URI": "bolt://127.0.0.1:9", "SHABAKA_NEO4J_PASSWORD": "x"})
    assert done.returncode == 1, done.stdout + done.stderr


# ingest ---------------------------------------------------------------------------------------------

def test_ingest_exits_0_with_quarantined_rows(shabaka_cmd, home, tmp_path):
    csv_path = tmp_path / "more.csv"
    text = (home / "inbox" / "processed" / "claims.csv").read_text().replace("CLM-00", "CLM-80")
    lines = text.splitlines()
    lines[1] = lines[1].replace("2025-03", "2025-13", 1)
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _shabaka(shabaka_cmd, home, "ingest", str(csv_path), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["quarantined"] == 1 and out["read"] == out["loaded"] + out["quarantined"]


def test_ingest_refused_file_exits_2_and_json_says_why(shabaka_cmd, home, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("claim_id,line_no\nA,1\n", encoding="utf-8")
    done = _shabaka(shabaka_cmd, home, "ingest", str(bad))
    assert done.returncode == 2 and "bad.csv" in done.stderr and "missing required column" in done.stderr
    done = _shabaka(shabaka_cmd, home, "ingest", "--json", str(bad))
    assert done.returncode == 2
    out = json.loads(done.stdout)
    assert out["status"] == "refused" and "bad.csv" in out["error"] and out["loaded"] == 0


# audit verify ---------------------------------------------------------------------------------------

def test_audit_verify_exits_0_intact_and_1_when_an_entry_was_edited(shabaka_cmd, home):
    done = _shabaka(shabaka_cmd, home, "audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(home / "shabaka.sqlite") as conn:
        table = next(name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                     if name.startswith("audit"))
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute(f"UPDATE {table} SET actor = 'someone-else' WHERE rowid = (SELECT MIN(rowid) FROM {table})")
    done = _shabaka(shabaka_cmd, home, "audit", "verify")
    assert done.returncode == 1 and "BROKEN" in done.stderr


# serve ----------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_stopped_with_ctrl_c_exits_0(shabaka_cmd, home):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    env.update(SHABAKA_HOME=str(home))
    proc = subprocess.Popen([shabaka_cmd, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_on_a_port_in_use_exits_1_and_a_bad_port_exits_2(shabaka_cmd, home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = _shabaka(shabaka_cmd, home, "serve", "--port", str(taken.getsockname()[1]), timeout=30)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert _shabaka(shabaka_cmd, home, "serve", "--port", "abc").returncode == 2


# the other verbs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, stdin", [
    (["no-such-verb"], ""),
    (["ingest"], ""),
    (["detect", "--out", "x", "--seed", "many"], ""),
    (["graph", "show", "PROVIDER:X", "--hops", "9"], ""),
    (["graph", "push"], ""),
    (["users", "add", "bob", "--role", "analyst"], ""),
    (["users", "add", "bob", "--role", "pope"], "pw\n"),
    (["generate", "--out", "g", "--scale", "-1"], ""),
    (["evaluate", "--truth", "absent.csv", "--findings", "."], ""),
    (["quarantine", "--limit", "x"], ""),
    (["graph", "show", "PROVIDER:NO-SUCH-PROVIDER"], ""),
    (["outcomes", "import", "absent.csv"], ""),
    (["audit", "list", "--limit", "many"], ""),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_usage_errors_and_refused_arguments_exit_2(shabaka_cmd, home, args, stdin):
    done = _shabaka(shabaka_cmd, home, *args, stdin=stdin)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_detect_on_an_empty_home_exits_2(shabaka_cmd, tmp_path):
    done = _shabaka(shabaka_cmd, tmp_path / "fresh", "detect", "--out", str(tmp_path / "f"))
    assert done.returncode == 2 and "no claims" in done.stderr


def test_a_bad_settings_file_exits_2(shabaka_cmd, home, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("window_weeks = 'many'\n", encoding="utf-8")
    done = _shabaka(shabaka_cmd, home, "--config", str(config), "settings")
    assert done.returncode == 2, done.stdout + done.stderr


@pytest.mark.parametrize("args, stdin", [
    (["settings"], ""),
    (["quarantine"], ""),
    (["audit", "list"], ""),
    (["outcomes", "list"], ""),
    (["graph", "show", "PROVIDER:PRV-CLINIC-R", "--hops", "1"], ""),
    (["users", "add", "carol", "--role", "analyst"], "a-long-passphrase\n"),
    (["graph", "build"], ""),
    (["--version"], ""),
    (["--help"], ""),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_verbs_that_succeed_exit_0(shabaka_cmd, home, args, stdin):
    done = _shabaka(shabaka_cmd, home, *args, stdin=stdin)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_interrupted_command_exits_130(shabaka_cmd, home):
    """Ctrl-C at the password prompt of ``users add`` on a terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    env.update(SHABAKA_HOME=str(home))
    master, slave = pty.openpty()
    proc = subprocess.Popen([shabaka_cmd, "users", "add", "dave", "--role", "analyst"], env=env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    try:
        while b"Password" not in seen:  # the prompt is shown once every module is loaded
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, seen
            seen += os.read(master, 1024)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        while select.select([master], [], [], 0.2)[0]:
            try:
                seen += os.read(master, 1024)
            except OSError:
                break
        assert b"Traceback" not in seen and b"aborted" in seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_export_of_a_ring_whose_ids_hold_mathtext_exits_0(shabaka_cmd, tmp_path):
    """A provider may name itself ``$x^$``: the bundle's pictures print it, the export does not fail."""
    from tests.conftest import RING_DOCTOR, RING_PROVIDERS, make_tiny_claims

    claims = make_tiny_claims()
    hostile = {RING_PROVIDERS[0]: "PRV-$x^$", RING_DOCTOR: "DOC-$\\frac{$"}
    for col in ("provider_id", "doctor_id"):
        claims[col] = claims[col].replace(hostile)
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    write_claims_csv(claims, home / "inbox" / "claims.csv")
    _every_ring(home)
    assert _shabaka(shabaka_cmd, home, "run", "--week", WEEK, "--quiet").returncode == 0
    members = pd.read_csv(home / "runs" / "latest" / "members.csv", dtype=str)
    ring_id = members.loc[members["entity_id"] == "PRV-$x^$", "ring_id"].iloc[0]
    done = _shabaka(shabaka_cmd, home, "export", ring_id, "--out", str(tmp_path / "ring.zip"))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "ring.zip") as z:
        assert "PRV-$x^$" in z.read("data/report.html").decode("utf-8")
    assert _shabaka(shabaka_cmd, home, "verify", str(tmp_path / "ring.zip")).returncode == 0


def test_outcomes_import_of_a_file_without_its_columns_exits_2(shabaka_cmd, home, tmp_path):
    bad = tmp_path / "outcomes.csv"
    bad.write_text("provider,verdict\nP1,guilty\n", encoding="utf-8")
    done = _shabaka(shabaka_cmd, home, "outcomes", "import", str(bad))
    assert done.returncode == 2 and "outcomes.csv" in done.stderr, done.stdout + done.stderr
