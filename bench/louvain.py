"""Community detection on the national provider projection: igraph's Leiden and Louvain against python-louvain.

Reads the claims of a stored HOME (by default the national 12-week window that
``bench/scale.py`` loads), builds the provider-provider projection weighted by shared
patients as integer codes, and runs ``detectors.communities.partition_codes`` with each
engine on the same edges and seeds. Prints the seconds of each engine (the partition
only), the modularity of its partition (one formula for all,
``detectors.communities.modularity``) and, against python-louvain (the reference, run
in the same process), the speed-up and the modularity difference.

    .venv/bin/python bench/louvain.py [--home /work/scale-data/window12/home-steps] [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# bench/ holds scripts named like the packages (bench/graph.py): import the packages, not them.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402

from detectors.communities import partition_codes  # noqa: E402
from graph.projections import provider_pair_codes  # noqa: E402
from ingest.store import ClaimsStore  # noqa: E402

ENGINES = ("leiden", "igraph", "python-louvain")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=Path("/work/scale-data/window12/home-steps"))
    ap.add_argument("--seeds", type=int, default=3, help="seeds run per engine (figures are their mean)")
    ap.add_argument("--min-shared", type=int, default=1, help="pairs sharing fewer patients are left out")
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engines; python-louvain is "
                    "the reference of the ratios")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    with ClaimsStore(args.home) as store:
        claims = store.claims(columns=["beneficiary_id", "provider_id"], encoded=True)
    print(f"read {len(claims):,} lines ({time.perf_counter() - t0:.1f} s)", flush=True)
    t0 = time.perf_counter()
    ids, a, b, shared, _, _ = provider_pair_codes(claims, min_shared=args.min_shared)
    del claims
    weights = shared.astype(float)
    print(f"projection: {len(ids):,} providers, {len(a):,} pairs sharing >= {args.min_shared} patients "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    results = {}
    for engine in args.engines.split(","):
        seconds, quality, sizes = [], [], []
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            membership, modularity = partition_codes(len(ids), a, b, weights, seed=seed, engine=engine)
            seconds.append(time.perf_counter() - t0)
            quality.append(modularity)
            sizes.append(len(np.unique(membership)))
        results[engine] = (float(np.mean(seconds)), float(np.mean(quality)))
        print(f"{engine:<15} {results[engine][0]:8.2f} s  modularity {results[engine][1]:.4f} "
              f"(min {min(quality):.4f}, max {max(quality):.4f})  communities {int(np.mean(sizes))}", flush=True)
    if "python-louvain" in results:
        ref_s, ref_q = results["python-louvain"]
        for engine, (sec, q) in results.items():
            if engine != "python-louvain":
                print(f"{engine}: {ref_s / sec:.1f}x faster than python-louvain, modularity {q - ref_q:+.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
