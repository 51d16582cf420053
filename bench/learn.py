"""The learned ranker against the unsupervised score and a one-feature baseline.

Usage::

    .venv/bin/python bench/learn.py --kaggle ../shared/datasets/kaggle-provider-fraud [--kaggle-home DIR]
    .venv/bin/python bench/learn.py --generated [--scale 0.5] [--seeds 0 1 2 3] [--known 0.3]

Kaggle provider-fraud: the claims are ingested with the project's adapter into
``--kaggle-home`` (kept, so a second run skips ingesting), detection runs once, and
the inpatient Train providers (2,092, 440 PotentialFraud = Yes) are the outcomes
(Yes = confirmed, No = dismissed). Printed, over the same 5-fold grouped
cross-validation (entities of one ring never split): the learned ranker's pooled
out-of-fold AUC, AP and precision at K (K = number of positives), the same run's
unsupervised score, and the claim count alone.

Generated worlds: for each seed, the outcomes of ``--known`` of the planted rings
(their members confirmed) and of the same share of the flagged rings that match no
planted ring, and of the look-alikes when the generator labels them (dismissed), are
known; the model is trained on the tuning seed's world (the first seed) and its
own outcomes, then applied to each held-out world, whose rings are re-ranked with it.
Printed: ring precision in the top 2N (N planted rings) before and after learning,
over the rings whose outcome is unknown in that world.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors.evaluate import average_precision, roc_auc  # noqa: E402
from detectors.features import entity_features, ring_groups  # noqa: E402
from detectors.learned import cross_validate, precision_at_k  # noqa: E402
from detectors.pipeline import detect  # noqa: E402


def run_kaggle(folder: Path, home: Path, seed: int) -> dict:
    from ingest.store import ClaimsStore

    with ClaimsStore(home) as store:
        if store.batches().empty:
            store.ingest([folder], source_format="kaggle-provider-fraud")
        claims = store.claims()
    train = pd.read_csv(next(folder.glob("Train-*.csv")), dtype=str)
    with gzip.open(next(folder.glob("Train_Inpatient*.csv.gz")), "rt") as fh:
        inpatient = set(pd.read_csv(fh, usecols=["Provider"], dtype=str)["Provider"])
    train = train[train["Provider"].isin(inpatient)]
    t0 = time.perf_counter()
    result = detect(claims, seed=seed)
    t_detect = time.perf_counter() - t0
    t0 = time.perf_counter()
    feats = entity_features(claims, result)
    keys = pd.Index("PROVIDER:" + train["Provider"])
    y = pd.Series((train["PotentialFraud"] == "Yes").astype(int).to_numpy(), index=keys)
    X = feats.table.reindex(keys)
    groups = ring_groups(feats.table.index, result.members).reindex(keys).fillna(pd.Series(keys, index=keys))
    report, oof = cross_validate(X, y, groups, X["unsupervised_score"], edges=feats.edges, seed=seed)
    t_learn = time.perf_counter() - t0
    claims_count = X["n_dossiers"].fillna(0).to_numpy()
    yy = y.to_numpy()
    return {"n_providers": len(y), "n_positive": int(y.sum()), "detect_seconds": round(t_detect, 1),
            "learn_seconds": round(t_learn, 1), **report.to_dict(),
            "claim_count_auc": round(roc_auc(yy, claims_count), 4),
            "claim_count_ap": round(average_precision(yy, claims_count), 4),
            "claim_count_precision_at_k": round(precision_at_k(yy, claims_count, int(y.sum())), 4)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kaggle", type=Path, default=None, help="Folder of the Kaggle provider-fraud files.")
    ap.add_argument("--kaggle-home", type=Path, default=Path("/tmp/shabaka-learn-kaggle-home"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", type=Path, default=None, help="Also write every number to this file.")
    args = ap.parse_args(argv)
    results = {}
    if args.kaggle:
        k = run_kaggle(args.kaggle, args.kaggle_home, args.seed)
        results["kaggle"] = k
        print(f"kaggle inpatient Train providers: {k['n_providers']} ({k['n_positive']} PotentialFraud), "
              f"{k['n_splits']}-fold grouped CV over {k['n_groups']} groups (a group in at most "
              f"{k['max_group_folds']} fold); detect {k['detect_seconds']}s, features+CV {k['learn_seconds']}s")
        print(f"  learned ranker      AUC {k['auc']:.3f}  AP {k['ap']:.3f}  precision@{k['k']} "
              f"{k['precision_at_k']:.3f}  (fold AUCs {k['fold_auc']})")
        print(f"  unsupervised score  AUC {k['baseline_auc']:.3f}  AP {k['baseline_ap']:.3f}  precision@{k['k']} "
              f"{k['baseline_precision_at_k']:.3f}")
        print(f"  claim count alone   AUC {k['claim_count_auc']:.3f}  AP {k['claim_count_ap']:.3f}  "
              f"precision@{k['k']} {k['claim_count_precision_at_k']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
