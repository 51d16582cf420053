"""``shabaka generate``: write synthetic claims with planted, labelled fraud rings."""

from __future__ import annotations

import click

__all__ = ["generate", "COMMANDS"]


@click.command("generate")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write claims.csv.gz, providers.csv, labels.csv and lookalikes.csv into.")
@click.option("--scale", default=1.0, show_default=True, type=float,
              help="Volume: 1 is about 200,000 claim lines in total.")
@click.option("--weeks", default=12, show_default=True, type=int, help="Weeks of service dates.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same files).")
@click.option("--camouflage", default=0.0, show_default=True, type=float,
              help="0..1: how much the planted fraudsters blend in with ordinary care.")
@click.option("--start", default="2025-01-06", show_default=True, help="First service date, YYYY-MM-DD.")
@click.option("--no-fraud", "no_fraud", is_flag=True,
              help="Plant no fraud: ordinary care and look-alikes only (labels.csv holds only its header).")
@click.option("--quiet", is_flag=True, help="Do not print progress.")
def generate(out_dir: str, scale: float, weeks: int, seed: int, camouflage: float, start: str, no_fraud: bool,
             quiet: bool) -> None:
    """Generate realistic synthetic AMO claims with planted fraud rings, legitimate look-alikes and their labels."""
    from ingest.synthetic import generate as run

    def progress(week: int, total: int, rows: int) -> None:
        if not quiet:
            click.echo(f"week {week + 1}/{total}: {rows:,} claim lines written", err=True)

    paths = run(out_dir, scale=scale, weeks=weeks, seed=seed, camouflage=camouflage, start=start,
                fraud=not no_fraud, progress=progress)
    for name, path in paths.items():
        click.echo(f"{name}: {path}")


COMMANDS: list[click.Command] = [generate]
