"""Speed of the a-priori scoring: one dossier through the API, a day of dossiers through the CLI.

Usage::

    .venv/bin/python bench/score.py [--scale 0.5] [--seed 7] [--dossiers 60000] [--requests 1000]
                                    [--work DIR]

1. A world is generated (``shabaka generate``); the dossiers filed in its first 8 weeks
   go through ``shabaka run``, which stores the run and its risk index.
2. A day of dossiers: the dossiers filed after, cycled under new claim ids up to
   ``--dossiers`` (60,000, about three lines each), written as one CSV. ``shabaka score``
   scores it end to end (a new process: start, read, validate, score, write); the baseline
   is ``pyarrow.csv.read_csv`` reading the same file, in the same run.
3. One dossier through the API: ``shabaka serve`` runs as its own process on loopback; a
   token from ``shabaka tokens add`` authenticates ``POST /api/score``; ``--requests``
   dossiers of the day are posted one at a time, a new connection each (after 50 for
   warm-up); the baseline is the same server refusing an unauthenticated POST (the
   HTTP floor) in the same run. Targets: p95 < 5 ms, a day < 60 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

SHABAKA = str(Path(sys.executable).with_name("shabaka"))


def _sh(cmd: list[str], env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(cmd[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def prepare(work: Path, scale: float, seed: int, n_dossiers: int, env: dict) -> tuple[Path, pd.DataFrame]:
    """Generate, run on the first 8 weeks, and write the day's file; return it and its lines."""
    world, home = work / "world", Path(env["SHABAKA_HOME"])
    _sh([SHABAKA, "generate", "--out", str(world), "--scale", str(scale), "--weeks", "12", "--seed", str(seed),
         "--quiet"], env)
    claims = pd.read_csv(world / "claims.csv.gz", dtype=str, keep_default_na=False)
    filed = pd.to_datetime(claims.groupby("claim_id")["submission_date"].transform("min"))
    cutoff = pd.Timestamp("2025-01-06") + pd.Timedelta(weeks=8)
    (home / "inbox").mkdir(parents=True, exist_ok=True)
    claims[filed < cutoff].to_csv(home / "inbox" / "before.csv", index=False)
    _sh([SHABAKA, "run", "--providers", str(world / "providers.csv"), "--quiet"], env)
    after = claims[filed >= cutoff]
    ids = pd.unique(after["claim_id"])
    lines_of = after.groupby("claim_id", sort=False).indices
    picks = [ids[k % len(ids)] for k in range(n_dossiers)]
    take = np.concatenate([lines_of[c] for c in picks])
    day = after.iloc[take].copy()
    day["claim_id"] = np.repeat([f"DAY{k:07d}" for k in range(n_dossiers)], [len(lines_of[c]) for c in picks])
    path = work / "day.csv"
    day.to_csv(path, index=False)
    return path, day


def bench_day(path: Path, env: dict, out: Path) -> dict:
    started = time.perf_counter()
    done = _sh([SHABAKA, "score", str(path), "--out", str(out), "--json"], env)
    took = time.perf_counter() - started
    report = json.loads(done.stdout)
    started = time.perf_counter()
    table = pacsv.read_csv(path)
    baseline = time.perf_counter() - started
    return {"seconds": took, "baseline_read_csv_s": baseline, "lines": table.num_rows, "report": report}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, body: bytes, headers: dict) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/score", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - started


def bench_api(day: pd.DataFrame, env: dict, n_requests: int) -> dict:
    token = _sh([SHABAKA, "tokens", "add", "bench", "--replace"], env).stdout.strip().split()[-1]
    port = _free_port()
    server = subprocess.Popen([SHABAKA, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        groups = list(day.groupby("claim_id", sort=False))[: n_requests + 50]
        bodies = [json.dumps({"claim_id": cid, "lines": lines.drop(columns=["claim_id"]).to_dict("records")}).encode()
                  for cid, lines in groups]
        auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        times, statuses = [], []
        for k, body in enumerate(bodies):
            status, took = _post(port, body, auth)
            if k >= 50:
                times.append(took)
                statuses.append(status)
        floor = [_post(port, bodies[k % len(bodies)], {"Content-Type": "application/json"}) for k in range(n_requests)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    ms = np.array(times) * 1000
    floor_ms = np.array([t for _, t in floor]) * 1000
    return {"requests": len(ms), "ok": int(sum(s == 200 for s in statuses)), "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)), "p99_ms": float(np.percentile(ms, 99)),
            "floor_p50_ms": float(np.percentile(floor_ms, 50)), "floor_p95_ms": float(np.percentile(floor_ms, 95)),
            "floor_status": int(floor[0][0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dossiers", type=int, default=60_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=None,
                        help="Keep the world, home and day here; a folder prepared before is reused as is.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        work = args.work or Path(tmp)
        env = {**os.environ, "SHABAKA_HOME": str(work / "home"), "SHABAKA_LOG_LEVEL": "WARNING"}
        if (work / "day.csv").exists() and (work / "home" / "shabaka.sqlite").exists():
            path = work / "day.csv"  # a --work folder prepared by an earlier run
            day = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            path, day = prepare(work, args.scale, args.seed, args.dossiers, env)
        result = bench_day(path, env, work / "scores.csv")
        api = bench_api(day, env, args.requests)
    r = result["report"]
    print(f"day of dossiers: {r['dossiers']:,} dossiers, {r['read']:,} lines ({r['scored']:,} scored, "
          f"{r['rejected']:,} refused): shabaka score {result['seconds']:.1f} s end to end (target < 60 s); "
          f"pyarrow.csv.read_csv of the same file {result['baseline_read_csv_s']:.2f} s "
          f"(x{result['seconds'] / result['baseline_read_csv_s']:.0f}); levels {r['by_level']}")
    print(f"one dossier through POST /api/score on loopback, {api['requests']} requests ({api['ok']} ok): "
          f"p50 {api['p50_ms']:.2f} ms, p95 {api['p95_ms']:.2f} ms, p99 {api['p99_ms']:.2f} ms (target p95 < 5 ms); "
          f"same server refusing an unauthenticated POST ({api['floor_status']}): p50 {api['floor_p50_ms']:.2f} ms, "
          f"p95 {api['floor_p95_ms']:.2f} ms (p95 x{api['p95_ms'] / api['floor_p95_ms']:.1f})")


if __name__ == "__main__":
    main()
