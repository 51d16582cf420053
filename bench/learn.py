"""The learned ranker against the unsupervised score and a one-feature baseline.

Usage::

    .venv/bin/python bench/learn.py --kaggle ../shared/datasets/kaggle-provider-fraud [--kaggle-home DIR]
    .venv/bin/python bench/learn.py --generated [--scale 0.5] [--seeds S ...] [--known 0.3]

Kaggle provider-fraud: the claims are ingested with the project's adapter into
``--kaggle-home`` (kept, so a second run skips ingesting), detection runs once, and
the inpatient Train providers (2,092, 440 PotentialFraud = Yes) are the outcomes
(Yes = confirmed, No = dismissed). Printed, over the same 5-fold grouped
cross-validation (entities of one ring never split): the learned ranker's pooled
out-of-fold AUC, AP and precision at K (K = number of positives), the same run's
unsupervised score, and the claim count alone.

Generated worlds (default: the held-out worlds with fraud of the protocol, ``HELD_OUT`` of
``bench/evaluate.py`` and docs/evaluation.md, never looked at while designing the ranker): in each world the outcomes of ``--known`` of the
planted rings (their providers, doctors and intermediaries confirmed) and of the same share
of the look-alike groups (their members dismissed; without look-alike labels, of the flagged
rings matching no planted ring) are known, as the fund knows its past verdicts; the model is
trained on them and re-ranks the world's rings. Printed: ring precision in the top 2N and in
the top N over the rings whose outcome is unknown (N = planted rings not known), before and
after learning (with 2N rings or more flagged, precision in the top 2N is at most 0.5).
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
from evaluate import HELD_OUT as PROTOCOL_HELD_OUT  # noqa: E402  (bench/evaluate.py: the protocol's one list)

#: The protocol's held-out worlds with fraud (seed, camouflage): never looked at while designing.
HELD_OUT = tuple((w.seed, w.camouflage) for w in PROTOCOL_HELD_OUT if w.fraud)


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


def run_generated(scale: float, seed: int, known: float, camouflage: float) -> dict:
    from detectors.evaluate import evaluate, match_rings
    from detectors.learned import (
        NEIGHBOUR_FEATURES, TreeModel, enough_outcomes, entity_labels, export_model, neighbour_outcomes,
        rerank, train_model,
    )
    from ingest.synthetic import generate_frames

    data = generate_frames(scale=scale, seed=seed, camouflage=camouflage, weeks=12)
    result = detect(data.claims, seed=42)
    labels = data.labels.assign(ring_id=data.labels["ring_id"].fillna("").astype(str))
    anchors = labels[(labels["ring_id"] != "") & labels["entity_type"].isin(["PROVIDER", "DOCTOR"])]
    planted = {r: set(g["entity_id"].astype(str)) for r, g in anchors.groupby("ring_id")}
    m = result.members[result.members["entity_type"].isin(["PROVIDER", "DOCTOR"])]
    sets = {r: set(g["entity_id"].astype(str)) for r, g in m.groupby("ring_id")}
    ranked = result.rings.sort_values("rank")["ring_id"].astype(str).tolist()
    matched = {f: p for f, p, _ in match_rings(planted, [(r, sets.get(r, set())) for r in ranked])}
    rng = np.random.default_rng(seed)
    ids = sorted(planted)
    known_planted = set(rng.choice(ids, size=max(1, round(known * len(ids))), replace=False)) if ids else set()
    lookalikes = getattr(data, "lookalikes", None)
    if isinstance(lookalikes, pd.DataFrame) and len(lookalikes):
        groups = sorted(lookalikes["group_id"].astype(str).unique()) if "group_id" in lookalikes else []
        pick = set(rng.choice(groups, size=max(1, round(known * len(groups))), replace=False)) if groups else set()
        neg = lookalikes[lookalikes.get("group_id", pd.Series(dtype=str)).astype(str).isin(pick)]
        negatives = pd.DataFrame({"entity_type": neg["entity_type"], "entity_id": neg["entity_id"].astype(str)})
        dismissed_rings: set[str] = set()
        n_dismissed = len(pick)
    else:
        false_rings = sorted(r for r in ranked if matched.get(r) is None)
        dismissed_rings = (set(rng.choice(false_rings, size=round(known * len(false_rings)), replace=False))
                           if false_rings else set())
        negatives = pd.DataFrame({"entity_type": "RING", "entity_id": sorted(dismissed_rings)})
        n_dismissed = len(dismissed_rings)
    pos = labels[labels["ring_id"].isin(known_planted) & labels["entity_type"].isin(["PROVIDER", "DOCTOR",
                                                                                    "INTERMEDIARY"])]
    outcomes = pd.concat([pos[["entity_type", "entity_id"]].assign(outcome="confirmed"),
                          negatives.assign(outcome="dismissed")], ignore_index=True).assign(decided_on="2025-01-01")
    feats = entity_features(data.claims, result)
    y = entity_labels(outcomes, result.members)
    y = y[y.index.isin(feats.table.index)]
    out = {"scale": scale, "seed": seed, "camouflage": camouflage, "n_planted": len(planted),
           "known_planted": len(known_planted), "dismissed_groups": n_dismissed,
           "negatives_from": "lookalikes" if not dismissed_rings and n_dismissed else "false rings",
           "n_outcomes": len(y), "n_positive": int(y.sum())}
    # Measured on what the fund does not know yet: planted rings and flagged rings without an outcome.
    known_flagged = {f for f, p in matched.items() if p in known_planted} | dismissed_rings
    labelled_keys = set(y.index)
    rest_labels = labels[~labels["ring_id"].isin(known_planted)]

    def precision(rings: pd.DataFrame) -> dict:
        keep = rings[~rings["ring_id"].astype(str).isin(known_flagged)].copy()
        keep["rank"] = np.arange(1, len(keep) + 1)
        r = evaluate(rest_labels, {"rings": keep, "members": result.members, "entity_scores": result.entity_scores})
        return {"ring_precision": round(r["ring_precision"], 3), "ring_precision_at_n": round(r["ring_precision_at_n"], 3),
                "n": r["n_planted"]}

    out["before"] = precision(result.rings.sort_values("rank"))
    missing = enough_outcomes(y)
    if missing is not None:
        out["after"], out["note"] = None, missing
        return out
    from detectors.features import ring_groups

    groups = ring_groups(feats.table.index, result.members)
    X = feats.table.copy()
    X[list(NEIGHBOUR_FEATURES)] = neighbour_outcomes(feats.edges, X.index, y, groups)
    clf = train_model(X.loc[y.index], y, seed=42)
    model = TreeModel(export_model(clf, list(X.columns), X.loc[y.index]))
    rings, _ = rerank(result.rings, result.members, result.entity_scores, model, X, "bench")
    out["after"] = precision(rings)
    out["n_unlabelled_entities"] = int((~feats.table.index.isin(labelled_keys)).sum())
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kaggle", type=Path, default=None, help="Folder of the Kaggle provider-fraud files.")
    ap.add_argument("--kaggle-home", type=Path, default=Path("/tmp/shabaka-learn-kaggle-home"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--generated", action="store_true", help="Measure on generated worlds too.")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="Worlds' seeds (camouflage --camouflage); default the held-out worlds of bench/evaluate.py.")
    ap.add_argument("--known", type=float, default=0.3, help="Share of planted rings and look-alikes known.")
    ap.add_argument("--camouflage", type=float, default=0.0)
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
    if args.generated:
        results["generated"] = []
        worlds = HELD_OUT if args.seeds is None else [(s, args.camouflage) for s in args.seeds]
        for seed, camouflage in worlds:
            g = run_generated(args.scale, seed, args.known, camouflage)
            results["generated"].append(g)
            after = g["after"] or {}
            print(f"world seed={seed} camouflage={camouflage} scale={args.scale}: {g['n_planted']} planted rings, outcomes of "
                  f"{g['known_planted']} planted rings and {g['dismissed_groups']} {g['negatives_from']} (dismissed) -> "
                  f"{g['n_outcomes']} "
                  f"labelled entities ({g['n_positive']} positive)")
            print(f"  unknown rings, precision in top 2N (N={g['before']['n']}): before "
                  f"{g['before']['ring_precision']:.3f}, after "
                  + (f"{after['ring_precision']:.3f}" if after else "(no model: " + g["note"] + ")")
                  + f"; in top N: before {g['before']['ring_precision_at_n']:.3f}"
                  + (f", after {after['ring_precision_at_n']:.3f}" if after else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
