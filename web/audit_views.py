"""The audit log, for admins: newest first, paged, with the chain's state."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.context import audit, audit_log, require_role
from web.params import arg

__all__ = ["bp"]

bp = Blueprint("audit", __name__)
PAGE = 50
#: The page checks the chain over the newest entries only, so its cost does not grow with the log;
#: ``shabaka audit verify`` walks all of it.
CHECKED = 10_000


@bp.route("/admin/audit")
@require_role("admin")
def audit_page():
    """A page of the audit log (newest first, at most :data:`PAGE` entries), and the chain over the newest entries."""
    page, actor, action = arg("page", 1), arg("actor"), arg("action")
    audit("view_audit", page=page, actor=actor, action_filter=action)
    log = audit_log()
    entries = log.entries(limit=PAGE, offset=(page - 1) * PAGE, actor=actor, action=action)
    return render_template("audit.html", entries=entries, check=log.verify(last=CHECKED), page=page,
                           has_next=len(entries) == PAGE, actor=actor or "", action=action or "", total=log.count())
