"""The audit log, for admins: newest first, paged, with the chain's state."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.context import audit, audit_log, require_role
from web.params import arg

__all__ = ["bp"]

bp = Blueprint("audit", __name__)
PAGE = 50


@bp.route("/admin/audit")
@require_role("admin")
def audit_page():
    page, actor, action = arg("page", 1), arg("actor"), arg("action")
    audit("view_audit", page=page, actor=actor, action_filter=action)
    log = audit_log()
    entries = log.entries(limit=PAGE, offset=(page - 1) * PAGE, actor=actor, action=action)
    return render_template("audit.html", entries=entries, check=log.verify(), page=page,
                           has_next=len(entries) == PAGE, actor=actor or "", action=action or "", total=log.count())
