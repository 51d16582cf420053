"""``POST /api/score``: the risk level and reasons of one dossier, from the latest run.

Authenticated either by an API token (``Authorization: Bearer shk_...``, made with
``shabaka tokens add``; it opens this endpoint only, and needs no CSRF token) or by a
signed-in session, which must then send its CSRF token in ``X-CSRFToken`` like any
form. The dossier's lines go through the claims contract's validation; refused lines are
listed (line, rule, reason, message) and the others scored. The audit log records who
scored, the run, the level and counts, and a keyed hash of the dossier id, never an
identifier of a person.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request

from casework.scoring import closed_rings, latest_index, score_records
from casework.tokens import TokenStore
from detectors.dossier_risk import identifier_hasher, key_fingerprint
from ground.errors import InputRefused
from web.context import audit, casework, settings

__all__ = ["bp", "TOKEN_ENDPOINTS", "bearer_account", "MAX_LINES"]

bp = Blueprint("score", __name__, url_prefix="/api")
#: Endpoints an API token may call.
TOKEN_ENDPOINTS = frozenset({"score.score"})
#: Most lines one dossier may carry.
MAX_LINES = 500


def bearer_account() -> dict[str, str] | None:
    """The account of the request's ``Authorization: Bearer`` token, or None when it is not a live token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    name = casework().store(TokenStore).verify(token.strip())
    if name is None:
        return None
    g.api_token = name
    return {"name": f"token:{name}", "role": "scorer"}


@bp.route("/score", methods=["POST"])
def score():
    """Score one dossier: ``{"claim_id": "...", "lines": [{claims-contract columns}, ...]}``."""
    if g.get("api_token") is None:
        from web import csrf

        csrf.protect()  # a session-authenticated POST needs its CSRF token like any form
    claim_id, lines = _dossier(request.get_json(silent=True))
    key = _key()
    conn = casework().conn
    index = latest_index(settings().home_path, key, key_fingerprint(key), conn=conn)
    results, refused, report = score_records(index, key, [{**line, "claim_id": claim_id} for line in lines],
                                             closed=closed_rings(settings().home_path, conn=conn))
    scored = next((r for r in results if r["lines"]), None)
    audit("api_score", run_id=index.run_id, dossier=identifier_hasher(key)("CLAIM", claim_id)[:16],
          level=scored["level"] if scored else None, lines=report.read, refused=report.rejected)
    if scored is None:
        return {"error": "Request refused", "detail": "every line of the dossier was refused by validation",
                "refused": refused}, 400
    return {"run_id": index.run_id, "claim_id": claim_id, "level": scored["level"], "score": scored["score"],
            "reasons": scored["reasons"].split("; ") if scored["reasons"] else [], "lines": scored["lines"],
            "refused": refused}


def _dossier(body: Any) -> tuple[str, list[dict[str, Any]]]:
    """``(claim_id, lines)`` of a request body, or InputRefused saying what was expected."""
    if not isinstance(body, dict):
        raise InputRefused('body: expected a JSON object {"claim_id": "...", "lines": [{...}, ...]}')
    claim_id = body.get("claim_id")
    if not isinstance(claim_id, str) or not claim_id.strip():
        raise InputRefused("claim_id: expected a non-empty string")
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise InputRefused("lines: expected a non-empty list of claim lines (objects)")
    if len(lines) > MAX_LINES:
        raise InputRefused(f"lines: {len(lines)} lines; expected at most {MAX_LINES} per dossier")
    for n, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            raise InputRefused(f"lines[{n}]: expected an object of claims-contract columns")
        other = line.get("claim_id")
        if other not in (None, "", claim_id):
            raise InputRefused(f"lines[{n}].claim_id: differs from the dossier's claim_id")
        for name, value in line.items():
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise InputRefused(f"lines[{n}].{name}: expected a string, number, boolean or null")
    return claim_id.strip(), lines


def _key() -> bytes:
    key = current_app.extensions.get("shabaka_score_key")
    if key is None:
        from export.pseudonym import load_pseudonym_key

        key = current_app.extensions["shabaka_score_key"] = load_pseudonym_key(settings())
    return key
