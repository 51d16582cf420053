"""``shabaka export``, ``shabaka verify`` and ``shabaka reproduce``: evidence bundles."""

from __future__ import annotations

import json

import click

__all__ = ["COMMANDS", "export", "verify", "reproduce"]


@click.command("export")
@click.argument("ring_id")
@click.option("--out", "out_zip", required=True, type=click.Path(dir_okay=False),
              help="The bundle zip to write (replaced if present).")
@click.option("--run", "run_id", default=None, help="Run the ring comes from (default: the latest run).")
@click.option("--pseudonymise", is_flag=True,
              help="Replace beneficiary, household, phone, account and referrer ids by keyed pseudonyms.")
@click.option("--actor", default="cli", show_default=True, help="Who exports, as written to the audit log.")
@click.pass_obj
def export(settings, ring_id: str, out_zip: str, run_id: str | None, pseudonymise: bool, actor: str) -> None:
    """Write the evidence bundle of RING_ID: graph files, claims, members, report (HTML, PDF), manifest."""
    # Imported when this verb runs, so the command line starts without it.
    from export import export_ring, verify_bundle

    path = export_ring(settings, ring_id, out_zip, run_id=run_id, pseudonymise=pseudonymise, actor=actor)
    check = verify_bundle(path)
    click.echo(f"{path}: ring {ring_id}, {check.checked} files, payload sha256 {check.payload_sha256}"
               + (" (pseudonymised)" if pseudonymise else ""))


@click.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def verify(ctx: click.Context, bundle: str, as_json: bool) -> None:
    """Check BUNDLE against its manifest: exit 0 when intact, 1 naming every changed, missing or added file.

    Needs no Shabaka store. Without Shabaka: unzip, then 'sha256sum -c manifest-sha256.txt'
    and 'sha256sum -c tagmanifest-sha256.txt' in the unzipped folder.
    """
    # Imported when this verb runs, so the command line starts without it.
    from export import verify_bundle

    result = verify_bundle(bundle)
    if as_json:
        click.echo(json.dumps({"ok": result.ok, "checked": result.checked, "changed": result.changed,
                               "missing": result.missing, "added": result.added, "problems": result.problems,
                               "payload_sha256": result.payload_sha256}, indent=2))
    else:
        for line in result.lines():
            click.echo(line)
    ctx.exit(0 if result.ok else 1)


@click.command("reproduce")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def reproduce(ctx: click.Context, bundle: str) -> None:
    """Verify BUNDLE, then re-run ring assembly on its recorded claim batches: exit 0 when the members are
    those of its data/members.csv, 1 when the bundle was altered or the members differ.

    The claim batches are taken from this home's claims store, matched by their SHA-256
    (exit 2 naming them when missing).
    """
    # Imported when this verb runs, so the command line starts without it.
    from export import reproduce_bundle

    result = reproduce_bundle(bundle, ctx.obj)
    for line in result.lines():
        click.echo(line)
    ctx.exit(0 if result.same else 1)


COMMANDS: list[click.Command] = [export, verify, reproduce]
