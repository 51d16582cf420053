"""The ``shabaka`` command line.

Each area's verbs live in their own module here and are gathered by :func:`main`.
Errors of :mod:`ground.errors` are mapped to messages and exit codes in one
place, :func:`main`.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from ground import __version__
from ground.errors import ShabakaError
from ground.settings import SETTINGS, load_settings

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="A shabaka.toml settings file (default: ./shabaka.toml when present).")
@click.option("--home", default=None, help="Override SHABAKA_HOME, the folder holding all state.")
@click.version_option(__version__, prog_name="shabaka")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, home: str | None) -> None:
    """Shabaka finds collusion rings in AMO health insurance claims."""
    settings = load_settings(config_file, os.environ)
    if home:
        settings = settings.replace(home=home)
    logging.basicConfig(
        level=getattr(logging, str(settings.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = settings


@cli.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def settings_cmd(settings, as_json: bool) -> None:
    """Print every setting, where it came from, and its help (secrets masked)."""
    masked = settings.masked()
    if as_json:
        import json

        click.echo(json.dumps({k: {"value": v, "source": settings.sources[k]} for k, v in masked.items()},
                              indent=2, default=str))
        return
    for s in SETTINGS:
        click.echo(f"{s.name:20} = {masked[s.name]!r:30} [{settings.sources[s.name]}]  {s.env_var}")
        click.echo(f"{'':20}   {s.help}")


def _register() -> None:
    from shabaka.cli import (
        apriori_cmds, detect_cmds, export_cmds, generate_cmd, graph_cmds, ingest_cmds, outcome_cmds, run_cmd,
        web_cmds,
    )

    for module in (ingest_cmds, generate_cmd, graph_cmds, detect_cmds, run_cmd, web_cmds, export_cmds,
                   outcome_cmds, apriori_cmds):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: runs the CLI, maps Shabaka errors to exit codes."""
    try:
        cli.main(args=argv, prog_name="shabaka", standalone_mode=False)
    except ShabakaError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)
