"""Ingest benchmark: ClaimsStore.ingest against pyarrow.csv.read_csv of the same file.

Writes a deterministic contract CSV (vectorised numpy, seconds), reads it with
pyarrow (the baseline, measured in the same run), ingests it in a child process
(rows/s and the child's own peak resident memory, VmHWM), and repeats the ingest on a quarter
of the lines to show peak memory does not grow with the file's size. With ``--against
REV`` it also ingests the big file with the ingest code of that git revision (extracted
with ``git archive``), in the same run, and prints the speed-up.

    .venv/bin/python bench/ingest.py --lines 1000000 --against f4b2887
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

# This script is named like the package it measures: drop its own folder from the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from ingest.schema import CLAIM_COLUMNS, ENUMS

_CHILD = """
import sys, time
from ingest.store import ClaimsStore
t = time.perf_counter()
report = ClaimsStore(sys.argv[1]).ingest([sys.argv[2]], chunk_rows=int(sys.argv[3]))
seconds = time.perf_counter() - t
# VmHWM is this process's own peak: ru_maxrss would include the forking parent's pages.
peak_kib = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(seconds, report.read, report.loaded, report.quarantined, peak_kib)
"""


def write_claims_csv(path: Path, lines: int, seed: int = 0) -> Path:
    """A contract CSV of ``lines`` claim lines (about 1% deliberately invalid), deterministic."""
    rng = np.random.default_rng(seed)
    block = 250_000
    for start in range(0, lines, block):
        n = min(block, lines - start)
        idx = np.arange(start, start + n)
        claim = idx // 2
        day = pd.Timestamp("2025-01-06") + pd.to_timedelta(rng.integers(0, 84, n), unit="D")
        pick = lambda values: np.asarray(values)[rng.integers(0, len(values), n)]  # noqa: E731
        amount = np.round(rng.gamma(2.0, 300.0, n), 2)
        amount[rng.random(n) < 0.005] = -1.0
        frame = pd.DataFrame({
            "claim_id": pd.Series(claim).map("C{:09d}".format), "line_no": idx % 2 + 1,
            "beneficiary_id": pd.Series(rng.integers(0, 400_000, n)).map("B{:07d}".format),
            "household_id": pd.Series(rng.integers(0, 200_000, n)).map("B{:07d}".format),
            "regime": pick(ENUMS["regime"]), "birth_year": rng.integers(1930, 2020, n), "sex": pick(ENUMS["sex"]),
            "beneficiary_region": pick(ENUMS["beneficiary_region"]), "ald": pick(["true", "false", ""]),
            "provider_id": pd.Series(rng.integers(0, 20_000, n)).map("P{:06d}".format),
            "provider_type": pick(ENUMS["provider_type"]), "provider_region": pick(ENUMS["provider_region"]),
            "doctor_id": pd.Series(rng.integers(0, 30_000, n)).map("D{:06d}".format),
            "doctor_specialty": pick(["MEDECINE_GENERALE", "CARDIOLOGIE", "CHIRURGIE_GENERALE"]),
            "act_code": pick(["C", "CS", "K50", "B120", "Z30"]), "act_family": pick(ENUMS["act_family"]),
            "quantity": rng.integers(1, 4, n), "stay_days": "",
            "service_date": day.strftime("%Y-%m-%d"),
            "submission_date": (day + pd.to_timedelta(rng.integers(0, 30, n), unit="D")).strftime("%Y-%m-%d"),
            "amount_claimed": amount, "amount_reimbursed": np.round(amount * 0.8, 2), "prior_auth_id": "",
            "channel": pick(ENUMS["channel"]), "submission_point_id": pick([f"SP{i:04d}" for i in range(500)]),
            "contact_phone": pd.Series(rng.integers(0, 300_000, n)).map("06{:08d}".format),
            "payee_account": "", "referrer_id": "",
        }, columns=list(CLAIM_COLUMNS))
        frame.loc[rng.random(n) < 0.005, "service_date"] = "2025-02-30"
        frame.to_csv(path, mode="w" if start == 0 else "a", header=start == 0, index=False)
    return path


def ingest_in_child(
    home: Path, path: Path, chunk_rows: int, code: Path = _HERE.parent
) -> tuple[float, list[str], float]:
    """Ingest in a fresh process: (seconds, [read, loaded, quarantined], peak RSS MiB of that process).

    ``code`` is the folder whose ``ingest`` and ``shabaka`` packages are imported.
    """
    out = subprocess.run([sys.executable, "-c", _CHILD, str(home), str(path), str(chunk_rows)],
                         capture_output=True, text=True, check=True, cwd=code).stdout.split()
    return float(out[0]), out[1:4], int(out[4]) / 1024


def checkout(revision: str, into: Path) -> Path:
    """The ``ingest`` and ``shabaka`` packages of a git revision, extracted under ``into``."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision, "ingest", "shabaka"], cwd=_HERE.parent,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--against", metavar="REV", help="also time the ingest code of this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small_lines = max(1, args.lines // 4)
        t = time.perf_counter()
        small = write_claims_csv(tmp / "small.csv", small_lines, seed=1)
        big = write_claims_csv(tmp / "claims.csv", args.lines)
        print(f"wrote {args.lines:,} + {small_lines:,} lines in {time.perf_counter() - t:.1f} s "
              f"({big.stat().st_size / 2**20:.0f} MiB)")
        t = time.perf_counter()
        table = pacsv.read_csv(big)
        base = time.perf_counter() - t
        print(f"baseline pyarrow.csv.read_csv: {table.num_rows:,} rows in {base:.2f} s "
              f"= {table.num_rows / base:,.0f} rows/s")
        del table
        # Smaller file first so the process-wide peak of the bigger one is its own.
        s_secs, s_counts, s_peak = ingest_in_child(tmp / "home-small", small, args.chunk_rows)
        secs, counts, peak = ingest_in_child(tmp / "home", big, args.chunk_rows)
        print(f"ClaimsStore.ingest: {int(counts[0]):,} rows in {secs:.2f} s = {int(counts[0]) / secs:,.0f} rows/s "
              f"(read {counts[0]} = loaded {counts[1]} + quarantined {counts[2]})")
        print(f"ratio ingest / read_csv time: {secs / base:.1f}x")
        if args.against:
            old = checkout(args.against, tmp / "against")
            o_secs, o_counts, o_peak = ingest_in_child(tmp / "home-against", big, args.chunk_rows, old)
            print(f"ClaimsStore.ingest at {args.against}: {int(o_counts[0]):,} rows in {o_secs:.2f} s = "
                  f"{int(o_counts[0]) / o_secs:,.0f} rows/s, ratio to read_csv {o_secs / base:.1f}x, "
                  f"peak RSS {o_peak:.0f} MiB; this tree is {o_secs / secs:.1f}x faster"
                  + ("" if o_counts == counts else f" (counts differ: {o_counts} vs {counts})"))
        print(f"peak RSS of the ingest process: {s_peak:.0f} MiB at {small_lines:,} lines, "
              f"{peak:.0f} MiB at {args.lines:,} lines (ratio {peak / s_peak:.2f} for {args.lines / small_lines:.0f}x "
              f"the lines; chunk_rows {args.chunk_rows:,})")


if __name__ == "__main__":
    main()
