"""``shabaka outcomes import``, ``shabaka outcomes list`` and ``shabaka learn``: the fund's inspection
outcomes and the ranker learned from them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from casework.audit import AuditLog
from shabaka.cli.ingest_cmds import reconciliation

__all__ = ["COMMANDS", "outcomes", "learn_cmd"]


@click.group("outcomes")
def outcomes() -> None:
    """Outcomes of inspections (confirmed, dismissed, referred) that train the learned ranker."""


@outcomes.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--actor", default="cli", show_default=True, help="Who imports, as written to the audit log.")
@click.option("--json", "as_json", is_flag=True, help="Print the reconciliation as one JSON object.")
@click.pass_obj
def outcomes_import(settings, path: Path, actor: str, as_json: bool) -> None:
    """Validate and load an outcomes CSV (entity_type, entity_id, outcome, decided_on, source).

    Prints read = loaded + quarantined. Exits 0 when the load ran (even with
    quarantined rows), 2 when the file was refused (nothing of it written).
    Importing the same file again changes nothing.
    """
    # Imported when this verb runs, so the command line starts without it.
    from casework.outcomes import OutcomeStore

    with OutcomeStore(settings.home_path) as store:
        report = store.import_file(path, actor=actor)
    with AuditLog(settings.home_path) as log:
        log.append(actor, "outcomes_import", report.to_dict())
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    click.echo(reconciliation(report, again="already imported"))
    if report.status != "already_loaded" and report.quarantined:
        click.echo("see the refused rows with: shabaka outcomes list --quarantine")


@outcomes.command("list")
@click.option("--quarantine", "show_quarantine", is_flag=True, help="List the refused rows instead.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows printed (not with --json).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: counts and every row.")
@click.pass_obj
def outcomes_list(settings, show_quarantine: bool, limit: int, as_json: bool) -> None:
    """List the outcomes, imported ones and the viewer's case dispositions, oldest first."""
    # Imported when this verb runs, so the command line starts without it.
    from casework.outcomes import OutcomeStore

    with OutcomeStore(settings.home_path) as store:
        rows = store.quarantine() if show_quarantine else store.outcomes()
    if as_json:
        key = "quarantine" if show_quarantine else "outcomes"
        counts = rows.groupby("reason" if show_quarantine else "outcome").size().to_dict() if len(rows) else {}
        click.echo(json.dumps({"count": len(rows), "by": {str(k): int(v) for k, v in counts.items()},
                               key: rows.to_dict("records")}, indent=2, default=str))
        return
    if show_quarantine:
        click.echo(f"{len(rows)} quarantined outcome row(s)")
        for r in rows.head(limit).itertuples(index=False):
            click.echo(f"{r.source_name}:{r.line}  {r.reason:20} {r.message}")
    else:
        counts = rows["outcome"].value_counts().sort_index().to_dict() if len(rows) else {}
        click.echo(f"{len(rows)} outcome(s)" + (": " + ", ".join(f"{k} {v}" for k, v in counts.items())
                                                 if counts else ""))
        for r in rows.head(limit).itertuples(index=False):
            click.echo(f"{r.decided_on}  {r.entity_type:12} {r.entity_id:24} {r.outcome:10} {r.source} ({r.origin})")
    if len(rows) > limit:
        click.echo(f"... {len(rows) - limit} more (use --json)")




@click.command("learn")
@click.option("--from", "start", default=None, help="First service date (YYYY-MM-DD) of the claims; default the first.")
@click.option("--to", "end", default=None, help="Last service date (YYYY-MM-DD) of the claims; default the last.")
@click.option("--report", "show_report", is_flag=True,
              help="Print the whole quality report: per-fold AUC, baselines, the features that weigh most.")
@click.option("--actor", default="cli", show_default=True, help="Who trains, as written to the audit log.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (auc, ap, baseline_auc, n_outcomes...).")
@click.pass_obj
def learn_cmd(settings, start, end, show_report: bool, actor: str, as_json: bool) -> None:
    """Train the learned ranker on the outcomes imported so far and store it as a new model version.

    Quality is measured first by grouped cross-validation (a ring's members never
    split across folds) against the same run's unsupervised score. Exit codes: 0 a
    model was trained, 3 too few outcomes (nothing trained: the unsupervised ranking
    stands alone), 2 bad input.
    """
    # Imported here: learning pulls in scikit-learn, which other verbs should not load (start-up time).
    from shabaka.learning import learn

    result = learn(settings, start=start, end=end, actor=actor)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        click.echo(result.message)
        if result.trained:
            click.echo(f"grouped {result.report['n_splits']}-fold CV over {result.n_outcomes} labelled entities "
                       f"({result.n_positive} fraud found): AUC {result.auc:.3f}, AP {result.ap:.3f}, "
                       f"precision@{result.k} {result.precision_at_k:.3f}; unsupervised score AUC "
                       f"{result.baseline_auc:.3f}, AP {result.baseline_ap:.3f}, precision@{result.k} "
                       f"{result.baseline_precision_at_k:.3f}")
        if result.trained and show_report:
            r = result.report
            click.echo(f"folds: AUC {r['fold_auc']}; {r['n_groups']} groups, each in {r['max_group_folds']} fold")
            click.echo("features that weigh most (mean |contribution| to the log-odds):")
            for f in result.top_features:
                click.echo(f"  {f['feature']:28} {f['mean_abs_contribution']:.3f}  {f['meaning']}")
    sys.exit(result.exit_code)


COMMANDS: list[click.Command] = [outcomes, learn_cmd]
