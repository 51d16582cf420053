"""Same findings before and after: detection with a git revision's code against this tree's, same claims.

Generates the synthetic claims once (``--scale 5`` is about one million lines), then runs
``detectors.pipeline.detect`` in two child processes: one importing the packages of
``--against REV`` (extracted with ``git archive`` into a temporary folder put first on
``sys.path``), one importing this tree's. Rings, members and entity scores are compared
cell for cell and every difference is printed; the exit code is 1 when any differ.
Numbers are equal when they agree to ``--rtol`` (default 1e-9: sums taken in another
order differ in the last bits); the largest relative difference is printed.
Each side's wall and CPU seconds (the CPU of the child, steadier on a shared machine)
and peak RSS are printed, and their ratio: the reference is measured in the same run.

    .venv/bin/python bench/same_findings.py --against main --scale 5
    .venv/bin/python bench/same_findings.py --against 114daa6 --claims claims.parquet --timing-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRAMES = ("rings", "members", "entity_scores")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", default="main", help="git revision whose detection is the reference")
    ap.add_argument("--scale", type=float, default=5.0)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--claims", type=Path, default=None,
                    help="a claims Parquet file to use instead of generating one (kept)")
    ap.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance of numbers")
    ap.add_argument("--timing-only", action="store_true",
                    help="only time both sides (for a reference whose detection logic differs)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="same-findings-") as tmp:
        tmp = Path(tmp)
        claims = args.claims.resolve() if args.claims else tmp / "claims.parquet"
        if not args.claims:
            subprocess.run([sys.executable, "-c", _GENERATE, str(claims), str(args.scale), str(args.weeks),
                            str(args.seed)], check=True, cwd=ROOT)
        base = tmp / "base"
        base.mkdir()
        archive = subprocess.run(["git", "archive", args.against], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        sides = {}
        for label, code in (("before", base), ("after", ROOT)):
            out = tmp / label
            sides[label] = _run_side(code, claims, out)
            print(f"{label} ({args.against if label == 'before' else 'this tree'}): {sides[label]['seconds']} s, "
                  f"CPU {sides[label]['cpu']} s, peak {sides[label]['peak_mb']} MB, {sides[label]['rings']} rings, "
                  f"{sides[label]['lines']:,} lines", flush=True)
        before, after = sides["before"], sides["after"]
        print(f"after / before: wall {after['seconds'] / before['seconds']:.2f}, CPU {after['cpu'] / before['cpu']:.2f}, "
              f"peak RSS {after['peak_mb'] / before['peak_mb']:.2f}")
        return 0 if args.timing_only else _compare(tmp / "before", tmp / "after", rtol=args.rtol)


_GENERATE = """
import sys
from ingest.synthetic import generate_frames
data = generate_frames(scale=float(sys.argv[2]), weeks=int(sys.argv[3]), seed=int(sys.argv[4]))
data.claims.to_parquet(sys.argv[1], index=False)
print(f"{len(data.claims):,} claim lines", flush=True)
"""


def _run_side(code: Path, claims: Path, out: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _SIDE, str(code), str(claims), str(out)], cwd=code,
                            stdout=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    text = proc.stdout.read().decode()
    proc.stdout.close()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"detection with {code} failed")
    return {"seconds": round(time.perf_counter() - t0, 1), "cpu": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": round(usage.ru_maxrss / 1024),
            **json.loads(text.strip().splitlines()[-1])}


_SIDE = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import pandas as pd
from detectors.pipeline import detect
from ingest.schema import CLAIM_DTYPES
claims = pd.read_parquet(sys.argv[2])
claims = claims.astype({c: CLAIM_DTYPES[c] for c in claims.columns})
result = detect(claims)
out = sys.argv[3]
os.makedirs(out)
for name in ("rings", "members", "entity_scores"):
    getattr(result, name).to_csv(f"{out}/{name}.csv", index=False)
print(json.dumps({"rings": len(result.rings), "lines": len(claims)}))
"""


def _compare(before: Path, after: Path, *, rtol: float) -> int:
    import numpy as np
    import pandas as pd

    differ = 0
    for name in FRAMES:
        a = pd.read_csv(before / f"{name}.csv", dtype=str, keep_default_na=False)
        b = pd.read_csv(after / f"{name}.csv", dtype=str, keep_default_na=False)
        if a.equals(b):
            print(f"{name}: identical ({len(a):,} rows)")
            continue
        if list(a.columns) != list(b.columns) or len(a) != len(b):
            differ += 1
            print(f"{name}: DIFFERENT ({len(a):,} rows before, {len(b):,} after)")
            if list(a.columns) != list(b.columns):
                print(f"  columns {list(a.columns)} -> {list(b.columns)}")
            else:
                _print_rows(a, b)
            continue
        texts, worst = [], 0.0
        for col in a.columns:
            if a[col].equals(b[col]):
                continue
            x, y = pd.to_numeric(a[col], errors="coerce"), pd.to_numeric(b[col], errors="coerce")
            numeric = x.notna() & y.notna()
            if not (a[col][~numeric] == b[col][~numeric]).all() or not np.allclose(x[numeric], y[numeric], rtol=rtol,
                                                                                   atol=0):
                texts.append(col)
                continue
            worst = max(worst, float(np.max(np.abs(x[numeric] - y[numeric]) / np.maximum(np.abs(x[numeric]), 1e-300))))
        if texts:
            differ += 1
            print(f"{name}: DIFFERENT in {texts} ({len(a):,} rows)")
            _print_rows(a, b)
        else:
            print(f"{name}: same ({len(a):,} rows; numbers within a relative {worst:.1e}, under --rtol {rtol:g})")
    return 1 if differ else 0


def _print_rows(a, b) -> None:
    merged = a.merge(b, how="outer", indicator=True)
    for side, label in (("left_only", "only before"), ("right_only", "only after")):
        rows = merged[merged["_merge"] == side].drop(columns="_merge")
        print(f"  {len(rows):,} rows {label}")
        if len(rows):
            print(rows.head(10).to_string(index=False))

if __name__ == "__main__":
    raise SystemExit(main())
