"""Ingest fuzzing: thousands of mangled claim files, every one loaded and reconciled or refused.

Makes damaged files with :func:`ingest.mangle.mangled_files` (truncation, byte flips,
wrong encodings, BOM, CRLF and CR-only endings, quoted newlines, extra, missing and
duplicated columns, huge fields, overlong ids, corrupt gzip, bit-flipped Parquet,
Parquet with wrong types) from generated claims, and ingests each one through the real
path, :meth:`ingest.store.ClaimsStore.ingest`, in this process (fast), then a sample
through the installed ``shabaka ingest --json`` command. It counts:

- crashes: any exception other than :class:`InputRefused` in process; through the
  command, any exit code other than 0 or 2, a traceback, or stdout that is not JSON;
- reconciliation failures: a load whose read != loaded + quarantined, or whose stored
  batch rows, quarantine rows or ``claim_loads`` row disagree with its report.

Both must be zero; the script exits 1 otherwise. Every file's outcome is seeded, so a
failure prints the seed and index that replay it.

    .venv/bin/python bench/fuzz_ingest.py --files 10000 --cli-sample 200
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

# This script is named like the package it exercises: drop its own folder from the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import pyarrow.parquet as pq  # noqa: E402

from ground.errors import InputRefused  # noqa: E402
from ingest.mangle import MANGLINGS, mangled_files  # noqa: E402
from ingest.store import ClaimsStore  # noqa: E402
from ingest.synthetic import generate_frames  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="Mangled files ingested in process.")
    parser.add_argument("--cli-sample", type=int, default=200, help="Of those, how many also go through the command.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--huge-mb", type=float, default=1.0,
                        help="Size of the one huge field of a huge_field file (MiB); the CLI sample uses 10.")
    args = parser.parse_args(argv)

    claims = generate_frames(scale=0.01, weeks=2, seed=args.seed).claims
    work = Path(tempfile.mkdtemp(prefix="shabaka-fuzz-"))
    try:
        inproc = _in_process(claims, args, work)
        cli = _through_cli(claims, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nin process: {args.files} files in {inproc['seconds']:.1f} s ({args.files / inproc['seconds']:.0f} files/s)")
    print(f"{'kind':22} {'files':>6} {'loaded':>7} {'refused':>8} {'crashed':>8} {'unreconciled':>13}")
    for kind in MANGLINGS:
        c = inproc["by_kind"][kind]
        print(f"{kind:22} {c['files']:>6} {c['loaded']:>7} {c['refused']:>8} {c['crashed']:>8} {c['unreconciled']:>13}")
    t = inproc["totals"]
    print(f"{'total':22} {t['files']:>6} {t['loaded']:>7} {t['refused']:>8} {t['crashed']:>8} {t['unreconciled']:>13}")
    print(f"rows: read {t['read']:,} = loaded {t['rows_loaded']:,} + quarantined {t['quarantined']:,}; "
          f"quarantined by rule: {dict(sorted(inproc['by_rule'].items()))}")
    print(f"\nthrough `shabaka ingest --json`: {cli['files']} files (huge fields {cli['huge_mb']:.0f} MiB) in "
          f"{cli['seconds']:.1f} s: exit 0 {cli['codes'].get(0, 0)}, exit 2 {cli['codes'].get(2, 0)}, "
          f"crashed {cli['crashed']}, unreconciled {cli['unreconciled']}")
    for line in inproc["failures"][:20] + cli["failures"][:20]:
        print("FAILURE", line)
    crashes = t["crashed"] + cli["crashed"]
    unreconciled = t["unreconciled"] + cli["unreconciled"]
    print(f"\ncrashes {crashes}, reconciliation failures {unreconciled}")
    return 0 if crashes == 0 and unreconciled == 0 else 1


def _in_process(claims, args, work: Path) -> dict:
    home = work / "home"
    by_kind = {k: collections.Counter() for k in MANGLINGS}
    by_rule: collections.Counter = collections.Counter()
    failures: list[str] = []
    began = time.perf_counter()
    with ClaimsStore(home) as store:
        conn = store._conn
        for index, m in enumerate(mangled_files(claims, args.files, seed=args.seed,
                                                huge_size=int(args.huge_mb * (1 << 20)))):
            kind = m.kinds[0]
            by_kind[kind]["files"] += 1
            path = work / m.name
            path.write_bytes(m.data)
            try:
                report = store.ingest([path], chunk_rows=16)
            except InputRefused:
                by_kind[kind]["refused"] += 1
                continue
            except Exception:  # a crash is what this bench looks for
                by_kind[kind]["crashed"] += 1
                failures.append(f"crash seed={args.seed} index={index} kinds={m.kinds}: "
                                + traceback.format_exc().strip().splitlines()[-1])
                continue
            finally:
                path.unlink()
            by_kind[kind]["loaded"] += 1
            by_kind[kind]["read"] += report.read
            by_kind[kind]["rows_loaded"] += report.loaded
            by_kind[kind]["quarantined"] += report.quarantined
            by_rule.update(report.by_rule)
            problem = _reconcile(conn, store.claims_dir, report)
            if problem:
                by_kind[kind]["unreconciled"] += 1
                failures.append(f"unreconciled seed={args.seed} index={index} kinds={m.kinds}: {problem}")
    totals: collections.Counter = collections.Counter()
    for counts in by_kind.values():
        totals.update(counts)
    for key in ("files", "loaded", "refused", "crashed", "unreconciled", "read", "rows_loaded", "quarantined"):
        totals.setdefault(key, 0)
        for counts in by_kind.values():
            counts.setdefault(key, 0)
    return {"by_kind": by_kind, "totals": totals, "by_rule": by_rule, "failures": failures,
            "seconds": time.perf_counter() - began}


def _reconcile(conn, claims_dir: Path, report) -> str:
    """What disagrees between a load's report and what it stored, or ''."""
    if report.read != report.loaded + report.quarantined:
        return f"read {report.read} != loaded {report.loaded} + quarantined {report.quarantined}"
    for f in report.files:
        if f.status != "loaded":
            continue
        load = conn.execute("SELECT load_id, read, loaded, quarantined FROM claim_loads WHERE batch_id = ?"
                            " AND status = 'loaded'", (f.batch_id,)).fetchone()
        if load is None or tuple(load)[1:] != (f.read, f.loaded, f.quarantined):
            return f"{f.name}: claim_loads row {None if load is None else tuple(load)} != report"
        stored_q = conn.execute("SELECT COUNT(*) FROM quarantine WHERE load_id = ?", (load[0],)).fetchone()[0]
        name, rows = conn.execute("SELECT parquet_name, rows FROM claim_batches WHERE batch_id = ?",
                                  (f.batch_id,)).fetchone()
        parts = [claims_dir / name] if name.endswith(".parquet") else sorted((claims_dir / name).glob("*.parquet"))
        in_parquet = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
        if stored_q != f.quarantined or rows != f.loaded or in_parquet != f.loaded:
            return (f"{f.name}: stored quarantine {stored_q}, batch rows {rows}, parquet rows {in_parquet}; "
                    f"report loaded {f.loaded}, quarantined {f.quarantined}")
    return ""


def _through_cli(claims, args, work: Path) -> dict:
    command = Path(sys.executable).parent / "shabaka"
    home = work / "cli-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    env.update(SHABAKA_HOME=str(home), SHABAKA_LOG_LEVEL="WARNING")
    codes: collections.Counter = collections.Counter()
    crashed = unreconciled = 0
    failures: list[str] = []
    began = time.perf_counter()
    seed = args.seed + 1_000_003  # other files than the in-process run's
    for index, m in enumerate(mangled_files(claims, args.cli_sample, seed=seed, huge_size=10 << 20)):
        path = work / m.name
        path.write_bytes(m.data)
        done = subprocess.run([str(command), "ingest", "--json", "--chunk-rows", "16", str(path)],
                              capture_output=True, text=True, env=env)
        path.unlink()
        codes[done.returncode] += 1
        try:
            out = json.loads(done.stdout)
        except ValueError:
            out = None
        if done.returncode not in (0, 2) or "Traceback" in done.stderr or out is None:
            crashed += 1
            failures.append(f"cli crash seed={seed} index={index} kinds={m.kinds}: exit {done.returncode}, "
                            f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no stderr'}")
        elif done.returncode == 0 and out["read"] != out["loaded"] + out["quarantined"]:
            unreconciled += 1
            failures.append(f"cli unreconciled seed={seed} index={index} kinds={m.kinds}: {out}")
    return {"files": args.cli_sample, "codes": codes, "crashed": crashed, "unreconciled": unreconciled,
            "failures": failures, "seconds": time.perf_counter() - began, "huge_mb": 10}


if __name__ == "__main__":
    sys.exit(main())
