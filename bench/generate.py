"""Generator speed: seconds per world and claim lines, against a git revision's generator.

Usage::

    .venv/bin/python bench/generate.py [--scale 1] [--weeks 12] [--seeds 1 2 3] [--against REV]

Each seed's world is written to a temporary folder by this tree's ``ingest.synthetic``
and, with ``--against``, by the generator of revision REV (extracted with ``git archive``
and run in its own process), alternately, so both see the same machine load; it prints
the best time of each and the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_RUN = """
import json, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from ingest.synthetic import generate
out = []
for seed in json.loads(sys.argv[2]):
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        paths = generate(folder, scale=float(sys.argv[3]), weeks=int(sys.argv[4]), seed=seed)
        seconds = time.perf_counter() - t0
        import gzip
        with gzip.open(paths["claims"], "rt") as fh:
            lines = sum(1 for _ in fh) - 1
    out.append({"seed": seed, "seconds": seconds, "lines": lines})
print(json.dumps(out))
"""


def run(tree: Path, seeds: list[int], scale: float, weeks: int) -> list[dict]:
    """Time ``generate`` of the code under ``tree`` for each seed, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _RUN, str(tree), json.dumps(seeds), str(scale), str(weeks)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def extract(rev: str, into: Path) -> Path:
    """The ``ingest``, ``ground`` and ``shabaka`` packages of ``rev`` (whichever exist) in ``into``."""
    names = [n for n in ("ingest", "ground", "shabaka")
             if subprocess.run(["git", "cat-file", "-e", f"{rev}:{n}"], cwd=ROOT, capture_output=True).returncode == 0]
    data = subprocess.run(["git", "archive", rev, *names], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--rounds", type=int, default=2, help="Alternate runs of each tree.")
    ap.add_argument("--against", default=None, help="A git revision whose generator is the baseline.")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": ROOT}
        if args.against:
            trees[args.against] = extract(args.against, Path(tmp))
        best: dict[str, dict[int, dict]] = {name: {} for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                for r in run(tree, args.seeds, args.scale, args.weeks):
                    old = best[name].get(r["seed"])
                    if old is None or r["seconds"] < old["seconds"]:
                        best[name][r["seed"]] = r
        for name, rows in best.items():
            total = sum(r["seconds"] for r in rows.values())
            lines = sum(r["lines"] for r in rows.values())
            print(f"{name:>12}: scale {args.scale}, {args.weeks} weeks, seeds {args.seeds}: best {total:.2f} s "
                  f"for {lines:,} lines ({lines / total:,.0f} lines/s)")
        if args.against:
            mine = sum(r["seconds"] for r in best["this tree"].values())
            base = sum(r["seconds"] for r in best[args.against].values())
            print(f"ratio this tree / {args.against}: {mine / base:.2f}x the time")


if __name__ == "__main__":
    main()
