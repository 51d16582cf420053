"""How well inferred intermediaries find the generator's planted recruiters.

Generates data with planted recruiter funnels (``ingest.synthetic.generate_frames``),
runs :func:`graph.intermediaries.infer_intermediaries`, and prints per setting:

- ring-level precision and recall: the labels tie recruited patients to a ring, not
  to one of its recruiters, so a planted unit is "the recruiters of one ring" with
  the ring's recruited patients; an inferred intermediary matches it when the
  Jaccard of their beneficiary sets is >= 0.5;
- purity: share of inferred intermediaries whose members are mostly recruited
  patients (any ring), and patient recall: share of recruited patients that some
  inferred intermediary holds.

Usage: ``.venv/bin/python bench/intermediaries.py [--scale 1.0] [--seeds 0 1] [--camouflage 0 0.6]``
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


def evaluate(members: pd.DataFrame, labels: pd.DataFrame, threshold: float = 0.5) -> dict:
    """Ring-level precision/recall by Jaccard, purity and patient recall."""
    recruited = labels[labels["role"] == "recruited_patient"]
    planted = {ring: set(g["entity_id"]) for ring, g in recruited.groupby("ring_id")}
    inferred = {i: set(g["beneficiary_id"]) for i, g in members.groupby("intermediary_id")}
    all_recruited = set(recruited["entity_id"])
    matched_planted, matched_inferred = set(), set()
    for inter, benes in inferred.items():
        for ring, patients in planted.items():
            if len(benes & patients) / len(benes | patients) >= threshold:
                matched_planted.add(ring)
                matched_inferred.add(inter)
    pure = sum(len(b & all_recruited) / len(b) >= 0.5 for b in inferred.values())
    held = set().union(*inferred.values()) if inferred else set()
    return {
        "planted": len(planted), "inferred": len(inferred),
        "precision": len(matched_inferred) / len(inferred) if inferred else float("nan"),
        "recall": len(matched_planted) / len(planted) if planted else float("nan"),
        "purity": pure / len(inferred) if inferred else float("nan"),
        "patient_recall": len(held & all_recruited) / len(all_recruited) if all_recruited else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--camouflage", type=float, nargs="+", default=[0.0, 0.6])
    args = parser.parse_args()
    print(f"{'camouflage':>10} {'seed':>4} {'lines':>8} {'planted':>7} {'inferred':>8} {'precision':>9} "
          f"{'recall':>6} {'purity':>6} {'pat.rec':>7} {'infer s':>7}")
    for camouflage in args.camouflage:
        for seed in args.seeds:
            data = generate_frames(scale=args.scale, weeks=args.weeks, seed=seed, camouflage=camouflage)
            began = time.perf_counter()
            found = infer_intermediaries(data.claims)
            elapsed = time.perf_counter() - began
            r = evaluate(found.members, data.labels)
            print(f"{camouflage:>10.1f} {seed:>4} {len(data.claims):>8} {r['planted']:>7} {r['inferred']:>8} "
                  f"{r['precision']:>9.2f} {r['recall']:>6.2f} {r['purity']:>6.2f} {r['patient_recall']:>7.2f} "
                  f"{elapsed:>7.2f}")


if __name__ == "__main__":
    main()
