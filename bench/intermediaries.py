"""How well inferred intermediaries find the generator's planted recruiters, per recruiter.

Generates data with planted recruiter funnels (``ingest.synthetic.generate_frames``),
runs :func:`graph.intermediaries.infer_intermediaries`, and scores it against the
generator's per-recruiter ground truth (``SyntheticData.recruiters``: which recruiter
brought which household; benchmarks only, never read by detectors):

- per recruiter: an inferred intermediary matches a recruiter when the Jaccard of their
  household sets is >= 0.5, one-to-one, best pairs first. Precision = matched inferred /
  inferred intermediaries holding any recruited household; recall = matched recruiters /
  recruiters. ``alarms`` counts inferred intermediaries with no recruited household at
  all (false alarms among legitimate households);
- ring level: a funnel ring is covered when >= 80% of its recruited households sit in
  intermediaries whose majority of households belong to that ring.

Usage: ``.venv/bin/python bench/intermediaries.py [--scale 1.0] [--seeds 0 1] [--camouflage 0 0.6]
[--no-split]`` (``--no-split`` turns off the split by destination, for a before/after).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# bench/graph.py and bench/ingest.py would shadow the packages of the same names
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import pandas as pd  # noqa: E402

from graph.intermediaries import infer_intermediaries  # noqa: E402
from ingest.synthetic import generate_frames  # noqa: E402


def evaluate(members: pd.DataFrame, recruiters: pd.DataFrame, threshold: float = 0.5,
             ring_cover: float = 0.8) -> dict:
    """Per-recruiter precision/recall (household Jaccard, one-to-one), false alarms, ring recall."""
    planted = {r: set(g["household_id"]) for r, g in recruiters.groupby("recruiter_id")}
    inferred = {i: set(g["household_id"]) for i, g in members.groupby("intermediary_id")}
    recruited = set(recruiters["household_id"])
    pairs = []
    for inter, households in inferred.items():
        for rec, brought in planted.items():
            common = len(households & brought)
            if common:
                jaccard = common / len(households | brought)
                if jaccard >= threshold:
                    pairs.append((-jaccard, inter, rec))
    matched_inferred, matched_planted = set(), set()
    for _, inter, rec in sorted(pairs):
        if inter not in matched_inferred and rec not in matched_planted:
            matched_inferred.add(inter)
            matched_planted.add(rec)
    touching = [i for i, h in inferred.items() if h & recruited]
    # a household brought by two recruiters of one ring counts for that ring once
    ring_of = recruiters.drop_duplicates("household_id").set_index("household_id")["ring_id"]
    covered_by = {ring: set() for ring in recruiters["ring_id"].unique()}
    for households in inferred.values():
        rings = ring_of.reindex(list(households)).value_counts()
        if len(rings) and rings.iloc[0] > len(households) / 2:
            covered_by[rings.index[0]] |= households
    ring_households = recruiters.groupby("ring_id")["household_id"].agg(set)
    covered = sum(len(covered_by[r] & h) >= ring_cover * len(h) for r, h in ring_households.items())
    nan = float("nan")
    return {
        "recruiters": len(planted), "rings": len(ring_households), "inferred": len(inferred),
        "touching": len(touching), "alarms": len(inferred) - len(touching),
        "precision": len(matched_inferred) / len(touching) if touching else nan,
        "recall": len(matched_planted) / len(planted) if planted else nan,
        "ring_recall": covered / len(ring_households) if len(ring_households) else nan,
        "household_recall": len(set().union(*inferred.values()) & recruited) / len(recruited)
        if inferred and recruited else nan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--camouflage", type=float, nargs="+", default=[0.0, 0.6])
    parser.add_argument("--no-split", action="store_true", help="do not split groups by destination")
    args = parser.parse_args()
    print(f"{'camouflage':>10} {'seed':>4} {'lines':>8} {'recruiters':>10} {'inferred':>8} {'alarms':>6} "
          f"{'precision':>9} {'recall':>6} {'ring rec':>8} {'hh rec':>6} {'infer s':>7}")
    for camouflage in args.camouflage:
        for seed in args.seeds:
            data = generate_frames(scale=args.scale, weeks=args.weeks, seed=seed, camouflage=camouflage)
            began = time.perf_counter()
            found = infer_intermediaries(data.claims, split_destinations=not args.no_split)
            elapsed = time.perf_counter() - began
            r = evaluate(found.members, data.recruiters)
            print(f"{camouflage:>10.1f} {seed:>4} {len(data.claims):>8} {r['recruiters']:>10} {r['inferred']:>8} "
                  f"{r['alarms']:>6} {r['precision']:>9.2f} {r['recall']:>6.2f} "
                  f"{r['ring_recall']:>4.2f} ({r['rings']}) {r['household_recall']:>6.2f} {elapsed:>7.2f}")


if __name__ == "__main__":
    main()
