"""The investigators' viewer (Flask).

:func:`create_app` builds the application from a :class:`ground.settings.Settings`
passed in its configuration (``SHABAKA_SETTINGS``); the viewer never reads the
environment. One blueprint per area: auth, runs, rings, entities, cases, audit, api.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from ground.sqlite import DB_NAME, connect
from ground.settings import load_settings
from web import api, audit_views, auth, case_views, entities, rings, runs, score_api
from web.context import close_stores, remember_pseudonyms, users
from web.errors import register_error_handlers
from web.filters import register_filters
from web.keys import SECRET_KEY_FILE, home_key, make_pseudonymiser, search_key
from web.score_api import TOKEN_ENDPOINTS, bearer_account

__all__ = ["create_app", "PUBLIC_ENDPOINTS"]

# The only endpoints reachable without a session.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})
csrf = CSRFProtect()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the viewer.

    Parameters
    ----------
    test_config : dict, optional
        Flask configuration; ``SHABAKA_SETTINGS`` holds the Settings (default:
        defaults plus ``./shabaka.toml``), ``SESSION_COOKIE_SECURE`` turns on
        secure cookies (off by default since the demo runs on http loopback).

    Returns
    -------
    Flask
    """
    app = Flask(__name__)
    config = dict(test_config or {})
    settings = config.get("SHABAKA_SETTINGS") or load_settings(None, None)
    home = settings.home_path
    app.config.update(
        SHABAKA_SETTINGS=settings,
        SECRET_KEY=home_key(settings.secret_key, home, SECRET_KEY_FILE),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        MAX_CONTENT_LENGTH=1 << 20,
        PAGE_SIZE=25,
    )
    app.config.update(config)
    app.extensions["shabaka_pseudonymiser"] = make_pseudonymiser(settings)
    app.extensions["shabaka_search_key"] = search_key(settings)
    # Held open for the app's life and never used: while one connection stays open, closing a
    # request's connection does not checkpoint and delete the WAL, and the next request's first
    # commit does not sync a new one (tens of milliseconds per request on this disk).
    app.extensions["shabaka_wal_keeper"] = connect(home / DB_NAME)
    csrf.init_app(app)

    for module in (auth, runs, rings, entities, case_views, audit_views, api, score_api):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # the API is read-only (GET); forms carry the tokens
    csrf.exempt(score_api.bp)  # token requests carry no session; session requests are checked in the view

    app.before_request(_load_user)
    app.after_request(_after)
    app.teardown_appcontext(close_stores)
    register_error_handlers(app)
    register_filters(app)
    return app


def _load_user():
    """Every request but login and static needs a signed-in, still existing account."""
    g.user = None
    if request.endpoint in TOKEN_ENDPOINTS and request.headers.get("Authorization"):
        g.user = bearer_account()
        return None if g.user is not None else ({"error": "invalid or revoked API token"}, 401)
    name = session.get("user")
    if name:
        # A cookie issued before the account's last logout, reset or disable is refused.
        g.user = users().session_user(name, session.get("ver"))
        if g.user is None:
            session.clear()
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.path.startswith("/api/"):
            return {"error": "not signed in"}, 401
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    return None


def _after(response):
    remember_pseudonyms()
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
    if g.get("user") is not None:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
