"""Sign in, sign out, and the accounts page (admins)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from web.context import audit, require_role, settings, users
from casework.users import ROLES
from web.params import arg, field

__all__ = ["bp"]

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form; failed attempts are throttled per account and address."""
    if request.method == "GET":
        return render_template("login.html", next=arg("next", ""))
    name = field("name", "")
    password = request.form.get("password", "")[:1024]
    address = request.remote_addr or "unknown"
    store = users()
    if store.failures(name, address) >= int(settings().login_attempts):
        audit("login_throttled", user=name)
        return render_template("login.html", error="Too many failed attempts; try again in 15 minutes.",
                               next=""), 429
    account = store.authenticate(name, password)
    if account is None:
        store.record_failure(name, address)
        audit("login_failed", user=name)
        return render_template("login.html", error="Wrong name or password.", next=""), 401
    store.clear_failures(name, address)
    session.clear()
    session["user"] = account["name"]
    session.permanent = True
    g.user = account
    audit("login", role=account["role"])
    return redirect(_safe_next(field("next", "")) or url_for("runs.overview"))


@bp.route("/logout", methods=["POST"])
def logout():
    audit("logout")
    session.clear()
    flash("Signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/admin/users", methods=["GET", "POST"])
@require_role("admin")
def accounts():
    """List accounts; add or reset one."""
    if request.method == "POST":
        name, role = field("name", ""), field("role", "")
        users().add(name, role, field("password", ""), replace=bool(request.form.get("replace")))
        audit("user_add", user=name, role=role)
        flash(f"Account {name} saved.")
        return redirect(url_for("auth.accounts"))
    audit("view_users")
    return render_template("users.html", accounts=users().users(), roles=ROLES)


def _safe_next(target: str) -> str | None:
    """Only same-site paths, so the login page cannot redirect elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
