"""``shabaka run``: the weekly detector job."""

from __future__ import annotations

import json
import logging

import click

__all__ = ["COMMANDS"]


@click.command("run")
@click.option("--inbox", type=click.Path(file_okay=False), default=None,
              help="Folder of new claim files (default: the inbox setting, HOME/inbox).")
@click.option("--week", default=None, metavar="YYYY-Www",
              help="ISO week to detect up to (default: the week of the latest claim loaded).")
@click.option("--window-weeks", type=int, default=None, help="Trailing weeks of claims to build the graph from.")
@click.option("--providers", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Providers file (per the claims contract) to load with the inbox.")
@click.option("--dry-run", is_flag=True, help="Detect and compare, but load, move and store nothing.")
@click.option("--quiet", is_flag=True, help="Only warnings and errors on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout.")
@click.pass_context
def run(ctx: click.Context, inbox, week, window_weeks, providers, dry_run, quiet, as_json) -> None:
    """Run the weekly job: ingest the inbox, detect over the window, alert on change.

    Exit codes: 0 ok, 1 failure, 2 bad input (a file or argument refused),
    3 nothing new since the last run of this week.
    """
    from shabaka.weekly import run_weekly

    settings = ctx.obj

    if quiet:
        logging.getLogger().setLevel(logging.WARNING)
    result = run_weekly(settings, inbox=inbox, week=week, window_weeks=window_weeks,
                        providers=providers, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    elif not quiet:
        click.echo(result.summary_text())
    ctx.exit(result.exit_code)


COMMANDS = [run]
