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

__all__ = ["cli", "main", "run_cli", "EXIT_CODES"]


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


#: What each exit code of every verb means; :func:`run_cli` maps every outcome to one of them.
EXIT_CODES: dict[int, str] = {
    0: "done (verify: intact; reproduce: same members; run: completed)",
    1: "failure, or a check that found a difference (verify, reproduce, audit verify), or another run holds the lock",
    2: "bad input: a file, argument or option refused, or something asked for not found",
    3: "run only: nothing new, this week's run on these claim batches was already done",
    130: "interrupted (Ctrl-C)",
}


def run_cli(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; the one place outcomes become exit codes.

    A verb ends in one of four ways: it returns (0), it calls ``ctx.exit(code)``
    (click hands the code back, as standalone mode is off so that the errors below
    reach this function), it raises a :class:`ShabakaError` (its ``exit_code``,
    message on stderr), or click refuses the command line (a usage error, 2). An
    interrupt gives 130. Anything else is a bug and ends in a traceback (1).
    """
    try:
        returned = cli.main(args=argv, prog_name="shabaka", standalone_mode=False)
    except ShabakaError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    # Under standalone_mode=False click returns ctx.exit()'s code, or the callback's return value (None).
    return returned if isinstance(returned, int) else 0


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: exits with :func:`run_cli`'s code."""
    sys.exit(run_cli(argv))
