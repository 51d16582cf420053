"""``shabaka ingest`` and ``shabaka quarantine``: loading claim files and reviewing rejected rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ground.errors import InputRefused

__all__ = ["COMMANDS", "ingest_cmd", "quarantine_cmd", "reconciliation"]


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--providers", "providers", type=click.Path(path_type=Path), default=None,
              help="A providers file (contract 'providers') to validate and load too.")
@click.option("--format", "source_format", type=click.Choice(["contract", "kaggle-provider-fraud"]),
              default="contract", show_default=True,
              help="contract: claim files per the claims contract; kaggle-provider-fraud: the Kaggle dataset folder.")
@click.option("--labels-out", type=click.Path(path_type=Path), default=None,
              help="kaggle-provider-fraud only: where to write provider labels "
                   "(default HOME/labels/kaggle-provider-fraud.csv).")
@click.option("--chunk-rows", type=int, default=None, help="Rows per chunk (default: the chunk_rows setting).")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: when on a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the reconciliation.")
@click.pass_obj
def ingest_cmd(settings, paths, providers, source_format, labels_out, chunk_rows, progress, as_json) -> None:
    """Validate and load claim files (.csv, .csv.gz, .parquet) into the claims store.

    Prints read = loaded + quarantined per file. Exits 0 when the load ran (even with
    quarantined rows), 2 when a file was refused (nothing of it written).
    """
    # Imported when this verb runs, so the command line starts without it.
    from ingest.store import ClaimsStore

    if labels_out is not None and source_format != "kaggle-provider-fraud":
        raise click.UsageError("--labels-out only applies to --format kaggle-provider-fraud")
    if progress is None:
        progress = not as_json and sys.stderr.isatty()
    try:
        with ClaimsStore(settings.home_path) as store:
            report = store.ingest(paths, providers=providers, chunk_rows=chunk_rows or settings.chunk_rows,
                                  progress=progress, source_format=source_format)
    except InputRefused as exc:
        if as_json:
            # A script reading --json gets JSON for a refusal too; the exit code (2) still comes from main().
            click.echo(json.dumps({"status": "refused", "error": str(exc), "read": 0, "loaded": 0,
                                   "quarantined": 0, "files": []}, indent=2))
        raise
    out = report.to_dict()
    if source_format == "kaggle-provider-fraud":
        # Imported when this verb runs, so the command line starts without it.
        from ingest.kaggle import write_labels

        target = labels_out or settings.home_path / "labels" / "kaggle-provider-fraud.csv"
        out["labels"] = {"path": str(target), "rows": sum(write_labels(p, target) for p in paths)}
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    for f in report.files:
        click.echo(reconciliation(f, batch_id=f.batch_id))
    if report.providers:
        p = report.providers
        click.echo(f"{p['name']} (providers): {p['status']}, read {p['read']} = loaded {p['loaded']} "
                   f"+ quarantined {p['quarantined']}")
    click.echo(f"total: read {report.read} = loaded {report.loaded} + quarantined {report.quarantined}; "
               f"{report.already_loaded} file(s) already loaded")
    if "labels" in out:
        click.echo(f"labels: {out['labels']['rows']} provider(s) written to {out['labels']['path']}")


def reconciliation(report: Any, *, batch_id: str | None = None, again: str = "already loaded") -> str:
    """One file's line: read = loaded + quarantined with the quarantine's rules, or that it was skipped.

    Parameters
    ----------
    report : object
        With ``name``, ``status``, ``read``, ``loaded``, ``quarantined`` and ``by_rule``
        (a claims file's or an outcomes file's report).
    batch_id : str, optional
        The batch the rows were loaded as, named when given.
    again : str
        How a file seen before (same sha256) is said to have been taken.
    """
    if report.status == "already_loaded":
        return f"{report.name}: {again} (same sha256), skipped, nothing read"
    rules = ", ".join(f"{k} {v}" for k, v in report.by_rule.items()) or "none"
    batch = f"batch {batch_id}; " if batch_id else ""
    return (f"{report.name}: read {report.read} = loaded {report.loaded} + quarantined {report.quarantined} "
            f"({batch}quarantine by rule: {rules})")


@click.command("quarantine")
@click.option("--file", "source_name", default=None, help="Only rows from this source file name.")
@click.option("--rule", "reason", default=None, help="Only rows with this reason code (e.g. BAD_DATE).")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rows, raw values included, to this CSV file instead of listing them.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows listed (not exported).")
@click.pass_obj
def quarantine_cmd(settings, source_name, reason, export, limit) -> None:
    """List or export quarantined rows: file, line, reason code, rule, message, raw values."""
    # Imported when this verb runs, so the command line starts without it.
    from ground.files import open_private
    from ingest.store import ClaimsStore

    with ClaimsStore(settings.home_path) as store:
        rows = store.quarantine(source_name=source_name, reason=reason)
    if export is not None:
        export.parent.mkdir(parents=True, exist_ok=True)
        tmp = export.with_name(export.name + ".tmp")
        with open_private(tmp, "w", newline="", encoding="utf-8") as handle:  # raw values: personal data
            rows.to_csv(handle, index=False)
        tmp.replace(export)
        click.echo(f"{len(rows)} quarantined row(s) written to {export}")
        return
    counts = rows.groupby("reason").size().to_dict() if len(rows) else {}
    click.echo(f"{len(rows)} quarantined row(s)" + (": " + ", ".join(f"{k} {v}" for k, v in counts.items())
                                                     if counts else ""))
    for r in rows.head(limit).itertuples(index=False):
        click.echo(f"{r.source_name}:{r.line}  {r.reason:26} {r.message}")
    if len(rows) > limit:
        click.echo(f"... {len(rows) - limit} more (use --export FILE.csv)")


COMMANDS: list[click.Command] = [ingest_cmd, quarantine_cmd]
