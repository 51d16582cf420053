"""Detection quality on generated data (and the Kaggle provider-fraud data), with ablations.

Usage::

    .venv/bin/python bench/evaluate.py [--scale 0.5] [--seeds 0 1] [--camouflage 0 0.6]
                                       [--no-ablation] [--kaggle DIR --kaggle-home DIR] [--json OUT]

For each (camouflage, seed) the generator's claims go through every detector once;
the full result and one result per left-out detector (the ablation: rings and scores
re-assembled without that detector's findings) are scored by
``detectors.evaluate.evaluate`` against the generator's labels. With ``--kaggle``,
the Kaggle claims are ingested with the project's adapter into ``--kaggle-home``
(kept, so a second run skips ingesting) and provider AP and ROC AUC are measured
against PotentialFraud over the Train providers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors.base import build_context  # noqa: E402
from detectors.evaluate import evaluate  # noqa: E402
from detectors.pipeline import summarise  # noqa: E402
from detectors.registry import all_detectors  # noqa: E402

KEYS = ("ring_recall", "ring_precision", "ring_precision_at_n", "recruited_recall", "provider_ap", "provider_auc",
        "provider_recall_at_k")


def run_generated(scale: float, seed: int, camouflage: float, ablation: bool) -> dict:
    from ingest.synthetic import generate_frames

    data = generate_frames(scale=scale, seed=seed, camouflage=camouflage)
    t0 = time.perf_counter()
    context = build_context(data.claims)
    findings = [d.fit(data.claims, context=context) for d in all_detectors(seed=42)]
    full = summarise(findings, data.claims, lines=context.lines)
    seconds = time.perf_counter() - t0
    out = {"scale": scale, "seed": seed, "camouflage": camouflage, "claim_lines": len(data.claims),
           "seconds": round(seconds, 1), "full": _metrics(evaluate(data.labels, full))}
    if ablation:
        out["without"] = {}
        for f in findings:
            rest = [g for g in findings if g.detector != f.detector]
            out["without"][f.detector] = _metrics(evaluate(data.labels, summarise(rest, data.claims,
                                                                                 lines=context.lines)))
    return out


def run_kaggle(folder: Path, home: Path) -> dict:
    from detectors.pipeline import detect
    from ingest.kaggle import write_labels
    from ingest.store import ClaimsStore

    labels_path = home / "labels.csv"
    with ClaimsStore(home) as store:
        if store.batches().empty:
            store.ingest([folder], source_format="kaggle-provider-fraud")
        claims = store.claims()
    write_labels(folder, labels_path)
    labels = pd.read_csv(labels_path, dtype=str, keep_default_na=False)
    train = pd.read_csv(next(folder.glob("Train-*.csv")), dtype=str)
    t0 = time.perf_counter()
    result = detect(claims, seed=42)
    seconds = time.perf_counter() - t0
    report = evaluate(labels, result, universe=train["Provider"])
    return {"claim_lines": len(claims), "seconds": round(seconds, 1), "provider_ap": report["provider_ap"],
            "provider_auc": report["provider_auc"], "provider_recall_at_k": report["provider_recall_at_k"],
            "n_providers": report["n_providers"],
            "n_positive_providers": report["n_positive_providers"],
            "base_rate": report["n_positive_providers"] / max(report["n_providers"], 1)}


def _metrics(report: dict) -> dict:
    return {k: round(float(report[k]), 3) for k in KEYS} | {"n_planted": report["n_planted"],
                                                           "n_flagged": report["n_flagged"],
                                                           "per_scenario": report["per_scenario"]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--camouflage", type=float, nargs="+", default=[0.0, 0.6])
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--kaggle", type=Path, default=None, help="Folder of the Kaggle provider-fraud files.")
    ap.add_argument("--kaggle-home", type=Path, default=Path("/tmp/shabaka-kaggle-home"))
    ap.add_argument("--json", type=Path, default=None, help="Also write every number to this file.")
    args = ap.parse_args(argv)

    results = {"generated": [], "kaggle": None}
    for cam in args.camouflage:
        for seed in args.seeds:
            r = run_generated(args.scale, seed, cam, not args.no_ablation)
            results["generated"].append(r)
            m = r["full"]
            print(f"camouflage={cam} seed={seed} lines={r['claim_lines']} time={r['seconds']}s  "
                  + "  ".join(f"{k}={m[k]}" for k in KEYS) + f"  flagged={m['n_flagged']}/{m['n_planted']} planted")
            print("    found per scenario: " + ", ".join(f"{name} {d['found']}/{d['planted']}"
                                                        for name, d in m["per_scenario"].items()))
            for name, w in r.get("without", {}).items():
                print(f"    without {name:15} " + "  ".join(f"{k}={w[k]}" for k in KEYS))
    if args.kaggle:
        k = run_kaggle(args.kaggle, args.kaggle_home)
        results["kaggle"] = k
        print(f"kaggle: lines={k['claim_lines']} time={k['seconds']}s provider_ap={k['provider_ap']:.3f} "
              f"(base rate {k['base_rate']:.3f}) provider_auc={k['provider_auc']:.3f} "
              f"recall@K={k['provider_recall_at_k']:.3f} over {k['n_providers']} Train providers")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
