"""``shabaka watchlist``, ``shabaka score`` and ``shabaka tokens``: the a-priori control at the fund's door."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["COMMANDS", "watchlist", "score", "tokens"]


@click.command("watchlist")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (run id and entries).")
@click.pass_obj
def watchlist(settings, as_json: bool) -> None:
    """Print the current prior-authorisation watchlist: the latest run's, less dismissed cases.

    One entry per provider and act family that should need a prior authorisation, with
    its ring, the amount at risk, since when it is listed and why. Exit 2 when no run
    has left a watchlist yet.
    """
    from casework.scoring import current_watchlist

    run_id, entries = current_watchlist(settings.home_path)
    if as_json:
        records = json.loads(entries.to_json(orient="records"))
        click.echo(json.dumps({"run_id": run_id, "entries": records}, indent=2))
        return
    click.echo(f"prior-authorisation watchlist of run {run_id}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
    for r in entries.itertuples(index=False):
        click.echo(f"{r.provider_id:<16} {r.act_family:<14} ring {r.ring_id} (#{r.ring_rank}) "
                   f"{r.amount_at_risk:>14,.2f} MAD since {r.since} ({r.since_run})")
        click.echo(f"{'':16} {r.reason}")


@click.command("score")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV receiving one row per dossier: claim_id, level, score, reasons, lines, rejected_lines.")
@click.option("--rejected", "rejected_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV receiving the refused lines: line, claim_id, rule, reason, message (no values).")
@click.option("--chunk-rows", type=int, default=None, help="Rows per chunk (default: the chunk_rows setting).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_obj
def score(settings, path: Path, out: Path, rejected_out: Path | None, chunk_rows: int | None,
          as_json: bool) -> None:
    """Score each dossier of a claims file (.csv, .csv.gz, .parquet) against the latest run.

    Levels high, medium, low or none, with the reasons: provider or doctor of a ring or
    on the watchlist, identifiers of an inferred recruiter, a patient recruited before,
    acts out of line with the provider's peers. Lines breaking the claims contract are
    refused and reported, the rest scored. Exit 0 when scored (even with refused lines),
    2 when the file is refused whole or no run has left an index.
    """
    from casework.scoring import score_file
    from detectors.dossier_risk import key_fingerprint
    from export.pseudonym import load_pseudonym_key

    key = load_pseudonym_key(settings)
    report = score_file(settings.home_path, key, key_fingerprint(key), path, out,
                        chunk_rows=chunk_rows or settings.chunk_rows, rejected_out=rejected_out)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "out": str(out)}, indent=2))
        return
    levels = ", ".join(f"{k} {v}" for k, v in report.by_level.items())
    rules = ", ".join(f"{k} {v}" for k, v in report.by_rule.items()) or "none"
    click.echo(f"{path.name}: read {report.read} = scored {report.scored} + refused {report.rejected} lines "
               f"(refused by rule: {rules})")
    click.echo(f"{report.dossiers} dossiers against run {report.run_id}: {levels} -> {out}")


@click.group("tokens")
def tokens() -> None:
    """API tokens for machines scoring dossiers (POST /api/score only)."""


@tokens.command("add")
@click.argument("name")
@click.option("--replace", is_flag=True, help="Replace an existing token of that name (the old one stops working).")
@click.pass_obj
def tokens_add(settings, name: str, replace: bool) -> None:
    """Create an API token and print it once (it is stored hashed and cannot be shown again)."""
    from casework.audit import AuditLog
    from casework.tokens import TokenStore

    with TokenStore(settings.home_path) as store:
        token = store.add(name, created_by="cli", replace=replace)
    with AuditLog(settings.home_path) as log:
        log.append("cli", "token_add", {"token": name, "replace": replace})
    click.echo(f"token {name} (POST /api/score only; shown once): {token}")


@tokens.command("revoke")
@click.argument("name")
@click.pass_obj
def tokens_revoke(settings, name: str) -> None:
    """Revoke an API token at once."""
    from casework.audit import AuditLog
    from casework.tokens import TokenStore

    with TokenStore(settings.home_path) as store:
        store.revoke(name)
    with AuditLog(settings.home_path) as log:
        log.append("cli", "token_revoke", {"token": name})
    click.echo(f"token {name} revoked")


@tokens.command("list")
@click.pass_obj
def tokens_list(settings) -> None:
    """List API tokens (names and dates, never the tokens)."""
    from casework.tokens import TokenStore

    with TokenStore(settings.home_path) as store:
        rows = store.tokens()
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "live"
        click.echo(f"{r['name']:<24} created {r['created_at']} by {r['created_by']}, {state}")


COMMANDS: list[click.Command] = [watchlist, score, tokens]
