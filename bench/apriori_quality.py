"""A-priori scoring quality on generated worlds: run on the first weeks, score what is filed after.

Usage::

    .venv/bin/python bench/apriori_quality.py [--set held-out|tuning | --seeds S ...] [--scale 0.5] [--weeks 12]
                                              [--run-weeks 8] [--camouflage 0] [--no-fraud] [--json OUT]

Worlds follow the blind protocol of docs/evaluation.md, whose lists live in
``bench/evaluate.py`` (``TUNING``, ``HELD_OUT``): the weights and levels are chosen on
tuning worlds (``--set tuning``); the held-out worlds (``--set held-out``; the default is ``tuning``) are
run once they are frozen, each with its own camouflage and fraud setting. ``--seeds``
runs other seeds with ``--camouflage`` and ``--no-fraud`` instead.

For each seed: ``shabaka generate`` writes a world; the dossiers filed (first submission
date) in its first ``--run-weeks`` weeks are put in a fresh HOME's inbox and ``shabaka run``
detects on them; every dossier filed after goes through ``shabaka score``. Against the
generator's CLAIM labels, each dossier is planted-ring (``ring_id`` set), lone fraud
(the upcoder) or legitimate; the table gives, per level, the share of each kind scored at
that level and at that level or above (recall for planted-ring dossiers, false-flag rate
for legitimate ones). Everything runs through the installed command, end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from evaluate import SETS  # bench/evaluate.py: the protocol's one list of worlds

ROOT = Path(__file__).resolve().parents[1]
SHABAKA = str(Path(sys.executable).with_name("shabaka"))
LEVELS = ("high", "medium", "low", "none")
KINDS = ("ring", "lone", "legit")


def run_seed(seed: int, scale: float, weeks: int, run_weeks: int, camouflage: float, work: Path,
             no_fraud: bool = False) -> pd.DataFrame:
    world, home = work / f"world-{seed}", work / f"home-{seed}"
    env = {**os.environ, "SHABAKA_HOME": str(home)}
    _sh([SHABAKA, "generate", "--out", str(world), "--scale", str(scale), "--weeks", str(weeks), "--seed", str(seed),
         "--camouflage", str(camouflage), "--quiet", *(["--no-fraud"] if no_fraud else [])], env)
    claims = pd.read_csv(world / "claims.csv.gz", dtype=str, keep_default_na=False)
    filed = pd.to_datetime(claims.groupby("claim_id")["submission_date"].transform("min"))
    cutoff = pd.Timestamp("2025-01-06") + pd.Timedelta(weeks=run_weeks)
    (home / "inbox").mkdir(parents=True)
    claims[filed < cutoff].to_csv(home / "inbox" / "before.csv", index=False)
    after = world / "after.csv"
    claims[filed >= cutoff].to_csv(after, index=False)
    _sh([SHABAKA, "run", "--providers", str(world / "providers.csv"), "--quiet"], env)
    scores = world / "scores.csv"
    _sh([SHABAKA, "score", str(after), "--out", str(scores)], env)
    out = pd.read_csv(scores, dtype={"claim_id": str}, keep_default_na=False)
    labels = pd.read_csv(world / "labels.csv", dtype=str, keep_default_na=False)
    claim_labels = labels[labels["entity_type"] == "CLAIM"]
    ring = set(claim_labels.loc[claim_labels["ring_id"] != "", "entity_id"])
    lone = set(claim_labels.loc[claim_labels["ring_id"] == "", "entity_id"])
    out["kind"] = ["ring" if c in ring else "lone" if c in lone else "legit" for c in out["claim_id"]]
    out["seed"] = seed
    return out


def table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per kind and level: dossiers, share at the level, share at the level or above."""
    rows = []
    for kind in KINDS:
        part = scores[scores["kind"] == kind]
        n = len(part)
        above = 0
        for level in LEVELS:
            at = int((part["level"] == level).sum())
            above += at
            rows.append({"kind": kind, "dossiers": n, "level": level, "at_level": at,
                         "share": at / n if n else float("nan"), "share_at_or_above": above / n if n else float("nan")})
    return pd.DataFrame(rows)


def _sh(cmd: list[str], env: dict) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(cmd[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=tuple(SETS), default="tuning",
                        help="Worlds of the protocol (bench/evaluate.py) to run; ignored with --seeds.")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="Run these seeds instead.")
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--run-weeks", type=int, default=8)
    parser.add_argument("--camouflage", type=float, default=0.0)
    parser.add_argument("--no-fraud", action="store_true", help="Worlds without planted fraud (false flags only).")
    parser.add_argument("--work", type=Path, default=None, help="Keep the worlds and homes here.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="apriori-") as tmp:
        work = args.work or Path(tmp)
        worlds = ([(s, args.camouflage, args.no_fraud) for s in args.seeds] if args.seeds is not None
                  else [(w.seed, w.camouflage, not w.fraud) for w in SETS[args.set]])
        frames = [run_seed(s, args.scale, args.weeks, args.run_weeks, c, work, nf) for s, c, nf in worlds]
    scores = pd.concat(frames, ignore_index=True)
    result = table(scores)
    print(f"worlds {[(s, c, 'no fraud' if nf else 'fraud') for s, c, nf in worlds]}, scale {args.scale}, "
          f"run on weeks 1-{args.run_weeks} of {args.weeks}: {len(scores):,} dossiers filed after the run")
    print(f"{'kind':6} {'dossiers':>9} {'level':7} {'at level':>9} {'share':>8} {'at or above':>12}")
    for r in result.itertuples(index=False):
        print(f"{r.kind:6} {r.dossiers:>9,} {r.level:7} {r.at_level:>9,} {r.share:>8.2%} {r.share_at_or_above:>12.2%}")
    if args.json:
        args.json.write_text(json.dumps(result.to_dict("records"), indent=2))


if __name__ == "__main__":
    main()
