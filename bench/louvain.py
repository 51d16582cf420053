"""Community detection on the national provider projection: python-louvain against igraph, same adapter.

Reads the claims of a stored HOME (by default the national week that ``bench/scale.py``
loads), builds the provider-provider projection weighted by shared patients, and runs
``detectors.communities.louvain_partition`` with each engine on the same graph and seed.
Prints seconds, modularity (computed the same way for both, by networkx) and the speed-up
over python-louvain, the reference.

    .venv/bin/python bench/louvain.py [--home /work/scale-data/week/home-steps] [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# bench/ holds scripts named like the packages (bench/graph.py): import the packages, not them.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import networkx as nx  # noqa: E402

from detectors.communities import louvain_partition  # noqa: E402
from graph.projections import provider_projection  # noqa: E402
from ingest.store import ClaimsStore  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=Path("/work/scale-data/week/home-steps"))
    ap.add_argument("--seeds", type=int, default=3, help="seeds run per engine (figures are their mean)")
    ap.add_argument("--min-shared", type=int, default=2, help="pairs sharing fewer patients are left out")
    args = ap.parse_args(argv)
    with ClaimsStore(args.home) as store:
        claims = store.claims(columns=["beneficiary_id", "provider_id"], encoded=True)
    t0 = time.perf_counter()
    proj = provider_projection(claims, min_shared=args.min_shared)
    G = nx.Graph()
    G.add_weighted_edges_from(zip(proj["provider_a"], proj["provider_b"], proj["shared_patients"].astype(float)))
    print(f"{len(claims):,} lines -> projection of {G.number_of_nodes():,} providers and {G.number_of_edges():,} "
          f"pairs sharing >= {args.min_shared} patients ({time.perf_counter() - t0:.1f} s)")
    results = {}
    for engine in ("igraph", "python-louvain"):
        seconds, quality = [], []
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            _, modularity = louvain_partition(G, seed=seed, engine=engine)
            seconds.append(time.perf_counter() - t0)
            quality.append(modularity)
        results[engine] = (sum(seconds) / len(seconds), sum(quality) / len(quality))
        print(f"{engine:<15} {results[engine][0]:8.2f} s  modularity {results[engine][1]:.4f}", flush=True)
    ref_s, ref_q = results["python-louvain"]
    fast_s, fast_q = results["igraph"]
    print(f"igraph: {ref_s / fast_s:.1f}x faster than python-louvain, modularity {fast_q - ref_q:+.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
