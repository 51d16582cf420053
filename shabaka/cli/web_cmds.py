"""Command-line verbs of the viewer: ``serve``, ``users add``, ``audit verify`` and ``audit list``."""

from __future__ import annotations

import json
import logging
import sys
import zipfile

import click

from casework.audit import AuditLog
from casework.users import UserStore
from export.manifest import AUDIT_ENTRY
from ground.errors import InputRefused

__all__ = ["COMMANDS", "serve", "users", "audit"]


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: the host setting, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: the port setting, 5000).")
@click.option("--secure-cookies", is_flag=True, help="Send the session cookie over HTTPS only (behind TLS).")
@click.pass_obj
def serve(settings, host: str | None, port: int | None, secure_cookies: bool) -> None:
    """Serve the investigators' viewer."""
    # Imported when this verb runs, so the command line starts without it.
    from web import create_app

    # The request log would carry URLs with personal identifiers; the audit log records views instead.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app({"SHABAKA_SETTINGS": settings, "SESSION_COOKIE_SECURE": secure_cookies})
    try:
        app.run(host=host or settings.host, port=port or settings.port, debug=False, use_reloader=False, threaded=True)
    except KeyboardInterrupt:
        # Ctrl-C is how the viewer is stopped (exit 0), even when it lands before the server loop has started.
        return


@click.group("users")
def users() -> None:
    """Accounts of the viewer."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["analyst", "investigator", "admin"]), required=True,
              help="analyst: pseudonymised view; investigator: full view and cases; admin: also accounts and audit.")
@click.option("--replace", is_flag=True, help="Reset the password and role of an existing account.")
@click.pass_obj
def users_add(settings, name: str, role: str, replace: bool) -> None:
    """Add an account; the password is read from standard input (prompted twice on a terminal)."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputRefused("password: expected one line on standard input")
    with UserStore(settings.home_path) as store:
        store.add(name, role, password, replace=replace)
    with AuditLog(settings.home_path) as log:
        log.append("cli", "user_add", {"user": name, "role": role, "replace": replace})
    click.echo(f"account {name} ({role}) saved")


@users.command("disable")
@click.argument("name")
@click.pass_obj
def users_disable(settings, name: str) -> None:
    """Disable an account: its open sessions end at their next request and it cannot sign in."""
    _set_active(settings, name, False)


@users.command("enable")
@click.argument("name")
@click.pass_obj
def users_enable(settings, name: str) -> None:
    """Enable a disabled account again (its old sessions stay ended)."""
    _set_active(settings, name, True)


def _set_active(settings, name: str, active: bool) -> None:

    with UserStore(settings.home_path) as store:
        store.set_active(name, active)
    with AuditLog(settings.home_path) as log:
        log.append("cli", "user_enable" if active else "user_disable", {"user": name})
    click.echo(f"account {name} {'enabled' if active else 'disabled'}")


@click.group("audit")
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option("--bundle", "bundles", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="An evidence bundle (zip) whose audit entry the log must still hold; repeatable.")
@click.pass_context
def audit_verify(ctx: click.Context, bundles: tuple[str, ...]) -> None:
    """Check the audit log's keyed hash chain and its anchors (runs, bundles): exit 0 when intact, 1 naming
    the first bad entry."""
    extra = [_bundle_anchor(path) for path in bundles]
    with AuditLog(ctx.obj.home_path) as log:
        check = log.verify(extra)
        n_anchors = len(log.anchors()) + len(extra)
    if check.ok:
        click.echo(f"audit log intact: {check.checked} entries verified, {n_anchors} anchors hold")
        return
    click.echo(f"audit log BROKEN at entry {check.first_bad} ({check.checked} entries verified): {check.reason}",
               err=True)
    ctx.exit(1)


def _bundle_anchor(path: str) -> dict:
    """The audit entry an evidence bundle carries, as an anchor ``{id, hash, kind, ref}``."""
    try:
        with zipfile.ZipFile(path) as bundle:
            name = next(n for n in bundle.namelist() if n.endswith("/" + AUDIT_ENTRY) or n == AUDIT_ENTRY)
            entry = json.loads(bundle.read(name))
        return {"id": int(entry["id"]), "hash": str(entry["hash"]), "kind": "bundle", "ref": path}
    except (zipfile.BadZipFile, StopIteration, KeyError, ValueError, TypeError):
        raise InputRefused(f"{path}: expected an evidence bundle holding {AUDIT_ENTRY} with id and hash") from None


@audit.command("list")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@click.option("--actor", default=None, help="Only this actor's entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def audit_list(settings, limit: int, offset: int, actor: str | None, as_json: bool) -> None:
    """Print audit entries, newest first."""
    with AuditLog(settings.home_path) as log:
        entries = log.entries(limit=limit, offset=offset, actor=actor)
    for e in entries:
        if as_json:
            click.echo(json.dumps(e, sort_keys=True))
        else:
            click.echo(f"{e['id']:>6} {e['ts'][:19]} {e['actor']:<14} {e['action']:<18} "
                       f"{json.dumps(e['params'], sort_keys=True)}")


COMMANDS = [serve, users, audit]
