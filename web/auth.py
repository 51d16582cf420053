"""Sign in, sign out, and the accounts page (admins)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from web.context import audit, require_role, settings, users
from casework.users import ROLES
from web.params import arg, field

__all__ = ["bp"]

bp = Blueprint("auth", __name__)
#: Set at a successful sign-in: a browser that holds it for an account has its own failure count for that
#: account, so nobody else's wrong passwords, from any address, can lock it out.
DEVICE_COOKIE = "shabaka_device"
DEVICE_DAYS = 90


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form; failed attempts are throttled per account and client (device cookie, else address)."""
    if request.method == "GET":
        return render_template("login.html", next=arg("next", ""))
    name = field("name", "")
    password = request.form.get("password", "")[:1024]
    device = _device(name)
    client = f"device:{device}" if device else f"address:{request.remote_addr or 'unknown'}"
    store = users()
    if store.failures(name, client) >= int(settings().login_attempts):
        audit("login_throttled", user=name, known_device=bool(device))
        return render_template("login.html", error="Too many failed attempts; try again in 15 minutes.",
                               next=""), 429
    account = store.authenticate(name, password)
    if account is None:
        store.record_failure(name, client)
        audit("login_failed", user=name, known_device=bool(device))
        return render_template("login.html", error="Wrong name or password.", next=""), 401
    store.clear_failures(name, client)
    session.clear()
    session["user"] = account["name"]
    session["ver"] = account["session_version"]
    session.permanent = True
    g.user = account
    audit("login", role=account["role"], known_device=bool(device))
    response = redirect(_safe_next(field("next", "")) or url_for("runs.overview"))
    response.set_cookie(DEVICE_COOKIE, _signer().dumps({"user": account["name"], "id": device or secrets.token_hex(16)}),
                        max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: every session of this account ends (on every browser), not only this cookie."""
    audit("logout")
    users().end_sessions(g.user["name"])
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


def _device(name: str) -> str | None:
    """The id of this browser's device cookie when it was issued to ``name`` at a successful sign-in."""
    token = request.cookies.get(DEVICE_COOKIE)
    if not token or len(token) > 512:
        return None
    try:
        data = _signer().loads(token, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    return str(data["id"]) if isinstance(data, dict) and data.get("user") == name and data.get("id") else None


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="shabaka-device")


def _safe_next(target: str) -> str | None:
    """Only same-site paths, so the login page cannot redirect elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
