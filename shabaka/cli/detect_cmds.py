"""``shabaka detect`` and ``shabaka evaluate``."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone
from pathlib import Path

import click

from ground import __version__
from ground.errors import InputRefused, NotFound

__all__ = ["COMMANDS", "detect", "evaluate"]

log = logging.getLogger(__name__)


@click.command("detect")
@click.option("--from", "start", default=None, help="First service date (YYYY-MM-DD), inclusive.")
@click.option("--to", "end", default=None, help="Last service date (YYYY-MM-DD), inclusive.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder receiving rings.csv, members.csv and entity_scores.csv.")
@click.option("--seed", type=int, default=None, help="Random seed (default: the 'seed' setting).")
@click.option("--max-rings", type=int, default=None, help="Most rings kept (default: the 'max_rings' setting).")
@click.pass_obj
def detect(settings, start: str | None, end: str | None, out_dir: str, seed: int | None,
           max_rings: int | None) -> None:
    """Run every detector on the stored claims, write the findings files (and watchlist.csv) and store the run."""
    # Imported when this verb runs, so the command line starts without it.
    from casework.ringpages import write_ring_pages
    from casework.runs import RunStore
    from web.story import page_story
    from detectors.config import load_detection_config
    from detectors.io import write_findings
    from detectors.pipeline import detect as run_detection
    from ingest.store import ClaimsStore
    from shabaka.apriori import prepare_apriori, store_apriori, write_watchlist

    seed = settings.seed if seed is None else seed
    max_rings = settings.max_rings if max_rings is None else max_rings
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    store = ClaimsStore(settings.home_path)
    try:
        claims = store.claims(start, end, encoded=True)
        batches = store.batches()
        providers = store.providers()
    finally:
        store.close()
    if claims.empty:
        raise NotFound(f"no claims in {settings.home_path} between {start or 'the start'} and {end or 'the end'}; "
                       "load some with 'shabaka ingest'")
    config = load_detection_config(settings.detection_config)
    result = run_detection(claims, seed=seed, max_rings=max_rings, louvain_engine=settings.louvain_engine,
                           config=config)
    run_id = "detect-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    apriori = prepare_apriori(settings, run_id, "detect", result, claims)
    write_findings(result, out_dir)
    write_watchlist(apriori.listed, Path(out_dir))
    store_apriori(settings.home_path, run_id, apriori)
    batch_list = batches[["batch_id", "sha256", "rows"]].to_dict("records") if len(batches) else []
    # The ring pages before the run: a stored run always has them (the viewer only reads them).
    write_ring_pages(settings.home_path, run_id, kind="detect", claims=claims, rings=result.rings,
                     members=result.members, config=config, providers=providers if len(providers) else None,
                     intermediaries=result.intermediaries, story=page_story)
    with RunStore(settings.home_path) as runs:
        runs.save_run(run_id, kind="detect", version=__version__, params=result.params, batches=batch_list,
                      rings=result.rings, members=result.members, entity_scores=result.entity_scores,
                      window=(start, end), stats=result.stats, started_at=started)
    log.info("run %s: %d claim lines, %d rings", run_id, len(claims), len(result.rings))
    click.echo(f"run {run_id}: {len(result.rings)} rings from {len(claims)} claim lines -> {Path(out_dir)}")


@click.command("evaluate")
@click.option("--truth", "truth", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Labels CSV (entity_type, entity_id, ring_id, role, scenario).")
@click.option("--findings", "findings_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder written by 'shabaka detect'.")
@click.option("--lookalikes", "lookalikes_csv", default=None, type=click.Path(exists=True, dir_okay=False),
              help="The generator's lookalikes.csv: also count the top rings containing a legitimate look-alike.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate(truth: str, findings_dir: str, lookalikes_csv: str | None, as_json: bool) -> None:
    """Measure ring recall and precision, recruited-patient recall, provider AP and AUC
    (and look-alike contamination of the top rings with --lookalikes)."""
    # Imported when this verb runs, so the command line starts without it.
    import pandas as pd

    from detectors.evaluate import evaluate as run_evaluation

    labels = pd.read_csv(truth, dtype=str, keep_default_na=False)
    missing = [c for c in ("entity_type", "entity_id", "ring_id") if c not in labels.columns]
    if missing:
        raise InputRefused(f"{truth}: missing label column(s) {missing}")
    for col in ("role", "scenario"):
        if col not in labels.columns:
            labels[col] = ""
    lookalikes = None
    if lookalikes_csv is not None:
        lookalikes = pd.read_csv(lookalikes_csv, dtype=str, keep_default_na=False)
        missing = [c for c in ("kind", "entity_type", "entity_id", "group_id") if c not in lookalikes.columns]
        if missing:
            raise InputRefused(f"{lookalikes_csv}: missing look-alike column(s) {missing}")
    report = run_evaluation(labels, findings_dir, lookalikes=lookalikes)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True, default=float))
        return
    for key in ("n_planted", "n_flagged", "ring_recall", "ring_precision", "ring_precision_at_n",
                "recruited_recall", "provider_ap", "provider_auc", "provider_recall_at_k", "n_providers", "n_positive_providers"):
        value = report[key]
        click.echo(f"{key:22} {value:.3f}" if isinstance(value, float) else f"{key:22} {value}")
    for name, d in report["per_scenario"].items():
        click.echo(f"  {name or '(none)':20} found {d['found']}/{d['planted']}")
    if lookalikes is not None:
        la = report["lookalikes"]
        click.echo(f"{'rings_with_lookalike':22} {la['rings_with_lookalike']} of the top {la['top']} rings")
        for kind, d in la["per_kind"].items():
            click.echo(f"  {kind:22} in {d['rings']} ring(s); {d['groups_in_rings']}/{d['groups']} group(s)")


COMMANDS = [detect, evaluate]
