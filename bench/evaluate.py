"""Detection quality under the blind protocol of ``docs/evaluation.md``.

Usage::

    .venv/bin/python bench/evaluate.py [--set tuning|held-out|both|none] [--scale 0.5] [--weeks 12]
                                       [--alert-score X] [--kaggle [DIR]] [--work DIR] [--reuse]
                                       [--worlds NAME ...] [--json OUT]

Each world of :data:`TUNING` and :data:`HELD_OUT` (named seeds, standard, camouflaged
and fraud-free) goes through the installed command exactly as a user runs it:
``shabaka generate`` -> ``shabaka ingest`` -> ``shabaka detect``; the findings are then
scored with the definitions of ``shabaka evaluate`` (``detectors.evaluate``: top 2N
flagged rings, Jaccard >= 0.5 over providers and doctors) against ``labels.csv`` and
``lookalikes.csv``, which detection never reads. Thresholds are chosen on the tuning
worlds only; the held-out worlds are run once the thresholds are frozen.

``--kaggle`` ingests the Kaggle provider-fraud dataset with the project's adapter
(``--labels-out`` writes the labels, which detection never reads) and prints the ROC
AUC of the provider scores over the Train providers with inpatient claims.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors.evaluate import NOISE_KINDS, evaluate, match_rings, roc_auc  # noqa: E402
from detectors.io import read_findings  # noqa: E402

SHABAKA = Path(sys.executable).with_name("shabaka")
KAGGLE = Path("/work/shared/datasets/kaggle-provider-fraud")


@dataclass(frozen=True)
class World:
    """One generated world of the protocol."""

    name: str
    seed: int
    camouflage: float = 0.0
    fraud: bool = True

    @property
    def kind(self) -> str:
        """standard, camouflaged or fraud-free."""
        if not self.fraud:
            return "fraud-free"
        return "camouflaged" if self.camouflage > 0 else "standard"


# Tuning worlds: look at them as much as you like while choosing thresholds. Each set of held-out
# seeds becomes tuning once its results have been looked at (docs/evaluation.md, "History"):
# 90001-90005 were held out until the first report, 90011-90015 until the second, 90021-90025 until the third,
# 90031-90035 until the fourth and 90041-90045 until the fifth.
TUNING = (World("tune-std-1", 101), World("tune-std-2", 102), World("tune-cam-1", 103, 0.6),
          World("tune-cam-2", 104, 0.6), World("tune-clean", 105, fraud=False),
          World("tune-std-3", 90_001), World("tune-std-4", 90_002), World("tune-cam-3", 90_003, 0.6),
          World("tune-cam-4", 90_004, 0.6), World("tune-clean-2", 90_005, fraud=False),
          World("tune-std-5", 90_011), World("tune-std-6", 90_012), World("tune-cam-5", 90_013, 0.6),
          World("tune-cam-6", 90_014, 0.6), World("tune-clean-3", 90_015, fraud=False),
          World("tune-std-7", 90_021), World("tune-std-8", 90_022), World("tune-cam-7", 90_023, 0.6),
          World("tune-cam-8", 90_024, 0.6), World("tune-clean-4", 90_025, fraud=False),
          World("tune-std-9", 90_031), World("tune-std-10", 90_032), World("tune-cam-9", 90_033, 0.6),
          World("tune-cam-10", 90_034, 0.6), World("tune-clean-5", 90_035, fraud=False),
          World("tune-std-11", 90_041), World("tune-std-12", 90_042), World("tune-cam-11", 90_043, 0.6),
          World("tune-cam-12", 90_044, 0.6), World("tune-clean-6", 90_045, fraud=False))
# Held-out worlds: other seeds, so other parameter draws; run only once thresholds are frozen.
HELD_OUT = (World("held-std-1", 90_051), World("held-std-2", 90_052), World("held-cam-1", 90_053, 0.6),
            World("held-cam-2", 90_054, 0.6), World("held-clean", 90_055, fraud=False))
SETS = {"tuning": TUNING, "held-out": HELD_OUT}
_KEYS = ("ring_recall", "ring_precision", "recruited_recall", "provider_ap")


def run_world(world: World, work: Path, scale: float, weeks: int, alert: float | None,
              reuse: bool = False) -> dict:
    """Generate, ingest and detect one world through the CLI, then score it.

    Parameters
    ----------
    world : World
        The world to run.
    work : Path
        Folder holding one sub-folder per world.
    scale, weeks : float, int
        Size of the generated world.
    alert : float or None
        Alert score: count the rings at or above it.
    reuse : bool
        Keep an earlier generated and ingested copy of the world (same scale and weeks)
        and run only detection again.
    """
    folder = work / world.name
    gen, home, found = folder / "gen", folder / "home", folder / "findings"
    stamp = folder / "made-with.json"
    made = {"seed": world.seed, "camouflage": world.camouflage, "fraud": world.fraud, "scale": scale, "weeks": weeks}
    seconds = {}
    if reuse and stamp.exists() and json.loads(stamp.read_text()) != made:
        # A held-out name whose seed changed must not be generated behind the user's back:
        # that is how a new held-out set gets looked at before the freeze.
        raise SystemExit(f"{folder} holds another world ({stamp.read_text().strip()}) than {world.name} now names "
                         f"({json.dumps(made)}); remove it or choose another --work instead of --reuse")
    if not (reuse and stamp.exists()):
        shutil.rmtree(folder, ignore_errors=True)
        args = ["generate", "--out", str(gen), "--scale", str(scale), "--weeks", str(weeks), "--seed", str(world.seed),
                "--camouflage", str(world.camouflage), "--quiet"] + ([] if world.fraud else ["--no-fraud"])
        seconds["generate"] = _shabaka(args)
        seconds["ingest"] = _shabaka(["--home", str(home), "ingest", str(gen / "claims.csv.gz"),
                                      "--providers", str(gen / "providers.csv")])
        stamp.write_text(json.dumps(made))
    shutil.rmtree(found, ignore_errors=True)
    seconds["detect"] = _shabaka(["--home", str(home), "detect", "--out", str(found)])
    labels = pd.read_csv(gen / "labels.csv", dtype=str, keep_default_na=False)
    lookalikes = pd.read_csv(gen / "lookalikes.csv", dtype=str, keep_default_na=False)
    frames = read_findings(found)
    report = evaluate(labels, frames, lookalikes=lookalikes)
    rings = frames["rings"].sort_values("rank", kind="mergesort")
    out = {"world": world.name, "kind": world.kind, "seed": world.seed, "camouflage": world.camouflage,
           "seconds": {k: round(v, 1) for k, v in seconds.items()},
           "claim_lines": int(sum(1 for _ in _lines(gen / "claims.csv.gz"))),
           "n_flagged": int(len(rings)), "lookalikes": report["lookalikes"],
           "lookalike_rings_via_planted": _via_planted(labels, lookalikes, frames, report["lookalikes"]["rings"])}
    if world.fraud:
        out |= {k: round(float(report[k]), 3) for k in _KEYS}
        out |= {"n_planted": report["n_planted"], "scenarios": _scenario_ranks(labels, frames),
                "upcoder_ranks": _upcoder_ranks(labels, frames)}
    scores = rings["score"].astype(float).round(3).tolist() if "score" in rings else []
    out["top_scores"] = scores[:10]
    if alert is not None:
        out["above_alert"] = int(sum(s >= alert for s in scores))
    return out


def run_kaggle(folder: Path, work: Path) -> dict:
    """Ingest the Kaggle data with the adapter, detect, and score providers against the labels."""
    home, found, labels_path = work / "kaggle" / "home", work / "kaggle" / "findings", work / "kaggle" / "labels.csv"
    seconds = {}
    if not (home / "shabaka.sqlite").exists():
        seconds["ingest"] = _shabaka(["--home", str(home), "ingest", str(folder), "--format", "kaggle-provider-fraud",
                                      "--labels-out", str(labels_path)])
    seconds["detect"] = _shabaka(["--home", str(home), "detect", "--out", str(found)])
    labels = pd.read_csv(labels_path, dtype=str, keep_default_na=False)
    train = pd.read_csv(next(folder.glob("Train-*.csv")), dtype=str)["Provider"]
    inpatient = pd.read_csv(next(folder.glob("Train_Inpatientdata-*.csv*")), dtype=str, usecols=["Provider"])
    universe = sorted(set(train) & set(inpatient["Provider"]))
    report = evaluate(labels, read_findings(found), universe=universe)
    # Reference only: how far one plain number (inpatient claims per provider) goes.
    counts = inpatient["Provider"].value_counts()
    positives = set(labels["entity_id"])
    reference = roc_auc([int(p in positives) for p in universe], [int(counts.get(p, 0)) for p in universe])
    return {"seconds": {k: round(v, 1) for k, v in seconds.items()}, "providers": len(universe),
            "positives": int(sum(p in positives for p in universe)), "provider_auc": round(report["provider_auc"], 3),
            "provider_ap": round(report["provider_ap"], 3), "claim_count_auc": round(reference, 3)}


def _shabaka(args: list[str]) -> float:
    t0 = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    done = subprocess.run([str(SHABAKA), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"shabaka {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def _lines(path: Path):
    import gzip

    with gzip.open(path, "rt") as fh:
        next(fh)
        yield from fh


def _scenario_ranks(labels: pd.DataFrame, frames: dict) -> list[dict]:
    """Each planted ring: its scenario, the rank of the flagged ring matching it (any rank), found in the top 2N."""
    anchors = labels[(labels["ring_id"] != "") & labels["entity_type"].isin(("PROVIDER", "DOCTOR"))]
    planted = {rid: set(g["entity_id"]) for rid, g in anchors.groupby("ring_id")}
    scenario = labels[labels["ring_id"] != ""].groupby("ring_id")["scenario"].first()
    rings = frames["rings"].sort_values("rank", kind="mergesort")["ring_id"].astype(str).tolist()
    members = frames["members"]
    members = members[members["entity_type"].isin(("PROVIDER", "DOCTOR"))]
    sets = {r: set(g["entity_id"].astype(str)) for r, g in members.groupby(members["ring_id"].astype(str))}
    rank_of = {}
    for i, (_fid, pid, _j) in enumerate(match_rings(planted, [(r, sets.get(r, set())) for r in rings])):
        if pid is not None:
            rank_of[pid] = i + 1
    top = 2 * len(planted)
    return [{"ring_id": rid, "scenario": scenario[rid], "rank": rank_of.get(rid),
             "found": rank_of.get(rid, top + 1) <= top} for rid in sorted(planted)]


def _via_planted(labels: pd.DataFrame, lookalikes: pd.DataFrame, frames: dict, ring_ids: list[str]) -> int:
    """How many of the rings counted as holding a care look-alike hold it only through entities the generator
    also planted in a fraud ring (a surgeon of a ring who also works at a referral clinic, a recruited
    patient who also shares a village phone)."""
    planted = set(labels.loc[labels["ring_id"] != "", "entity_id"].astype(str))
    care = lookalikes[~lookalikes["kind"].isin(NOISE_KINDS)]
    care_ids = set(care["entity_id"].astype(str))
    members = frames["members"]
    count = 0
    for rid in ring_ids:
        ids = set(members.loc[members["ring_id"].astype(str) == rid, "entity_id"].astype(str)) & care_ids
        count += bool(ids) and ids <= planted
    return count


def _upcoder_ranks(labels: pd.DataFrame, frames: dict) -> list[int | None]:
    """Rank of each lone upcoder among scored providers (None when unscored)."""
    ids = labels.loc[(labels["scenario"] == "upcoder") & (labels["entity_type"] == "PROVIDER"), "entity_id"]
    scores = frames["entity_scores"]
    scores = scores[scores["entity_type"] == "PROVIDER"].sort_values("score", ascending=False, kind="mergesort")
    order = {e: i + 1 for i, e in enumerate(scores["entity_id"].astype(str))}
    return [order.get(e) for e in sorted(ids)]


def _print_world(r: dict) -> None:
    secs = " ".join(f"{k} {v}s" for k, v in r["seconds"].items())
    la = r["lookalikes"]
    print(f"  {r['world']:12} seed {r['seed']:>6} {r['kind']:11} {r['claim_lines']:>7} lines  ({secs})")
    if r["kind"] == "fraud-free":
        alert = f", {r['above_alert']} above the alert score" if "above_alert" in r else ""
        print(f"      rings flagged {r['n_flagged']}{alert}; best scores {r['top_scores']}")
    else:
        print(f"      ring recall {r['ring_recall']:.2f}  precision(top 2N) {r['ring_precision']:.2f}  "
              f"listed patients {r['recruited_recall']:.2f}  provider AP {r['provider_ap']:.2f}  "
              f"upcoder rank {r['upcoder_ranks']}")
        print("      " + ", ".join(f"{s['scenario']} {'found' if s['found'] else 'MISSED'}"
                                   f"{'' if s['rank'] is None else ' @' + str(s['rank'])}" for s in r["scenarios"]))
    care = {k: d["rings"] for k, d in la["per_kind"].items() if d["rings"] and k not in NOISE_KINDS}
    noise = {k: d["rings"] for k, d in la["per_kind"].items() if d["rings"] and k in NOISE_KINDS}
    via = r.get("lookalike_rings_via_planted", 0)
    print(f"      look-alikes in the top {la['top']} rings: {la['rings_with_lookalike']} ring(s) {care or ''}"
          f"{f' ({via} of them only through members planted in a fraud ring too)' if via else ''}"
          f"  (data-quality kinds, ordinary providers: {noise or 'none'})")


def _summary(name: str, results: list[dict]) -> None:
    print(f"{name}:")
    for kind in ("standard", "camouflaged"):
        rows = [r for r in results if r["kind"] == kind]
        if rows:
            means = "  ".join(f"{k} {np.nanmean([r[k] for r in rows]):.2f}" for k in _KEYS)
            best = [min((u for u in r["upcoder_ranks"] if u is not None), default=None) for r in rows]
            la = sum(r["lookalikes"]["rings_with_lookalike"] for r in rows)
            via = sum(r.get("lookalike_rings_via_planted", 0) for r in rows)
            print(f"  {kind:11} ({len(rows)} worlds)  {means}  best upcoder rank {best}  "
                  f"top-2N rings with a look-alike {la} ({via} only through members planted in a fraud ring too)")
    for r in results:
        if r["kind"] == "fraud-free":
            print(f"  fraud-free  {r['n_flagged']} rings flagged, best scores {r['top_scores'][:5]}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("tuning", "held-out", "both", "none"), default="tuning",
                    help="Worlds to run ('none': only --kaggle); held-out only once thresholds are frozen.")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--alert-score", type=float, default=None,
                    help="Ring score from which a ring is alerted; counts the fraud-free world's rings above it.")
    ap.add_argument("--kaggle", nargs="?", type=Path, const=KAGGLE, default=None,
                    help=f"Also score the Kaggle provider-fraud data (default folder {KAGGLE}).")
    ap.add_argument("--work", type=Path, default=None, help="Keep every world's files here (default: a temp folder).")
    ap.add_argument("--worlds", nargs="+", default=None, metavar="NAME",
                    help="Run only these worlds of the chosen set(s) (names as printed, e.g. tune-std-3).")
    ap.add_argument("--reuse", action="store_true",
                    help="With --work: keep worlds generated and ingested by an earlier run, detect again only.")
    ap.add_argument("--json", type=Path, default=None, help="Also write every number to this file.")
    args = ap.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="shabaka-evaluate-"))
    results: dict = {"scale": args.scale, "weeks": args.weeks}
    names = {"both": ("tuning", "held-out"), "none": ()}.get(args.set, (args.set,))
    for name in names:
        print(f"{name} worlds (scale {args.scale}, {args.weeks} weeks):")
        rows = []
        for world in SETS[name]:
            if args.worlds is None or world.name in args.worlds:
                rows.append(run_world(world, work, args.scale, args.weeks, args.alert_score, args.reuse))
                _print_world(rows[-1])
        results[name] = rows
    for name in names:
        _summary(name, results[name])
    if args.kaggle:
        k = run_kaggle(args.kaggle, work)
        results["kaggle"] = k
        print(f"kaggle (inpatient Train providers: {k['providers']}, {k['positives']} flagged): "
              f"provider AUC {k['provider_auc']:.3f}, AP {k['provider_ap']:.3f} "
              f"(reference, inpatient claim count alone: AUC {k['claim_count_auc']:.3f}) {k['seconds']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
