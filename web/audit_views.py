"""The audit log, for admins: newest first, paged, with the chain's state."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ground.errors import InputRefused
from web.context import audit, audit_log, require_role

__all__ = ["bp"]

bp = Blueprint("audit", __name__)
PAGE = 50


@bp.route("/admin/audit")
@require_role("admin")
def audit_page():
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        raise InputRefused("page: expected a positive whole number") from None
    actor = request.args.get("actor", "").strip() or None
    action = request.args.get("action", "").strip() or None
    audit("view_audit", page=page, actor=actor, action_filter=action)
    log = audit_log()
    entries = log.entries(limit=PAGE, offset=(page - 1) * PAGE, actor=actor, action=action)
    return render_template("audit.html", entries=entries, check=log.verify(), page=page,
                           has_next=len(entries) == PAGE, actor=actor or "", action=action or "", total=log.count())
