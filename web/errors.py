"""Shabaka errors and HTTP errors mapped to statuses and friendly pages, in one place."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from ground.errors import AccessDenied, InputRefused, NotFound, ShabakaError
from web.context import audit

__all__ = ["register_error_handlers", "STATUS"]

STATUS: dict[type[ShabakaError], int] = {NotFound: 404, AccessDenied: 403, InputRefused: 400}
_TITLES = {400: "Request refused", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
           405: "Method not allowed", 413: "Request too large", 429: "Too many attempts", 500: "Server error"}
log = logging.getLogger(__name__)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: ShabakaError by class, HTTP errors by code, anything else as 500."""

    @app.errorhandler(ShabakaError)
    def shabaka_error(exc: ShabakaError):
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 500)
        if status == 403:
            audit("denied", endpoint=request.endpoint, method=request.method, path=request.path[:200])
        if status == 500:
            log.error("request failed: %s", type(exc).__name__)
        return _render(status, str(exc) if status != 500 else "The stores could not answer this request.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _render(exc.code or 500, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Type only: the message could carry identifiers from the data.
        log.error("unexpected %s in %s", type(exc).__name__, request.endpoint)
        return _render(500, "Something went wrong; the error was logged.")


def _render(status: int, message: str):
    title = _TITLES.get(status, "Error")
    if request.path.startswith("/api/"):
        return {"error": title, "detail": message}, status
    return render_template("error.html", status=status, title=title, message=message), status
