"""Full detection time and peak memory at about one million claim lines, and Louvain engines compared.

Usage::

    .venv/bin/python bench/detect.py [--lines 1000000] [--seed 0]

The generator writes the claims to a Parquet file first; detection then runs in a
fresh child process so that its peak resident memory (``ru_maxrss``) is detection's
own, measured against the same process's memory right after reading the claims.
Louvain: python-louvain against igraph's Leiden and Louvain on the same graph (the provider projection
weighted by shared patients), with the time ratio and each partition's modularity.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LINES_PER_SCALE = 186_000  # measured: scale 0.5 gives about 93,000 lines over 12 weeks


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: Path) -> None:
    """Read the claims, run detection, print one JSON line of timings."""
    import pandas as pd

    from detectors.base import build_context
    from detectors.communities import partition_codes
    from detectors.pipeline import summarise
    from detectors.registry import all_detectors

    claims = pd.read_parquet(path)
    base = _rss_mb()
    t0 = time.perf_counter()
    context = build_context(claims)
    timings = {"context": time.perf_counter() - t0}
    findings = []
    for d in all_detectors(seed=42):
        t = time.perf_counter()
        findings.append(d.fit(claims, context=context))
        timings[d.name] = time.perf_counter() - t
    t = time.perf_counter()
    result = summarise(findings, claims, lines=context.lines)
    timings["rings"] = time.perf_counter() - t
    total = time.perf_counter() - t0
    peak = _rss_mb()

    proj = context.projection
    codes, ids = pd.factorize(pd.concat([proj["provider_a"], proj["provider_b"]], ignore_index=True), sort=True)
    a, b = codes[:len(proj)], codes[len(proj):]
    weights = proj["shared_patients"].to_numpy(float)
    louvain = {"nodes": len(ids), "edges": len(proj)}
    for engine in ("leiden", "igraph", "python-louvain"):
        t = time.perf_counter()
        membership, modularity = partition_codes(len(ids), a, b, weights, seed=42, engine=engine)
        louvain[engine] = {"seconds": time.perf_counter() - t, "modularity": modularity,
                           "communities": int(membership.max()) + 1}
    print(json.dumps({"claim_lines": len(claims), "seconds": total, "timings": timings,
                      "rss_after_read_mb": base, "peak_rss_mb": peak, "rings": len(result.rings),
                      "louvain": louvain}))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child)
        return
    from ingest.synthetic import generate_frames

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        data = generate_frames(scale=args.lines / LINES_PER_SCALE, seed=args.seed)
        path = Path(tmp) / "claims.parquet"
        data.claims.to_parquet(path)
        gen = time.perf_counter() - t
        del data
        out = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True, capture_output=True,
                             text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"generated {r['claim_lines']:,} claim lines in {gen:.1f} s")
    print(f"detection: {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB "
          f"({r['peak_rss_mb'] - r['rss_after_read_mb']:.0f} MB above the claims read), {r['rings']} rings")
    for name, sec in r["timings"].items():
        print(f"  {name:15} {sec:7.1f} s  ({sec / r['seconds']:.0%})")
    lv = r["louvain"]
    pl = lv["python-louvain"]
    print(f"louvain on the provider projection ({lv['nodes']:,} nodes, {lv['edges']:,} edges):")
    for engine in ("leiden", "igraph", "python-louvain"):
        e = lv[engine]
        print(f"  {engine:<14} {e['seconds']:6.2f} s modularity {e['modularity']:.4f} ({e['communities']} communities)"
              + ("" if engine == "python-louvain" else f", {pl['seconds'] / max(e['seconds'], 1e-9):.1f}x faster"))


if __name__ == "__main__":
    main()
