"""Cases: open a case on a ring, change its status, assignee and disposition, comment, export."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, url_for

from casework.cases import STATUSES
from web.context import audit, cases, casework, claims_store, current_run_id, require_role, runs, settings, show_case
from web.params import arg, check_id, field, paging

__all__ = ["bp"]

bp = Blueprint("cases", __name__)
EDITORS = ("investigator", "admin")


@bp.route("/cases")
def case_list():
    """Cases, most recently updated first, a page at a time; filter by status."""
    status = arg("status") or None
    pages = paging(cases().count(status), arg("page", 1), current_app.config["PAGE_SIZE"])
    rows = [show_case(c) for c in cases().cases(status, limit=pages["size"], offset=pages["offset"])]
    latest = runs().latest_run_id()
    ranks = {}
    if latest:
        ranks = {r["ring_id"]: r for r in runs().rings(latest).to_dict("records")}
    audit("view_cases", status=status, page=pages["page"])
    return render_template("cases.html", cases=rows, ranks=ranks, status=status, statuses=STATUSES, paging=pages)


@bp.route("/cases/<ring_id>")
def case_page(ring_id: str):
    """A ring's case: status, assignee, disposition and comments, as this user may see them.

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    case = show_case(cases().case(check_id("case", ring_id)))
    audit("view_case", ring_id=ring_id)
    return render_template("case.html", case=case, statuses=STATUSES, can_edit=g.user["role"] in EDITORS)


@bp.route("/cases/<ring_id>/open", methods=["POST"])
@require_role(*EDITORS)
def open_case(ring_id: str):
    """Open a case on a ring of the run in the form (default the latest).

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    run_id = current_run_id(field("run"))
    runs().ring(run_id, check_id("ring", ring_id))
    cases().open_case(ring_id, actor=g.user["name"], run_id=run_id)
    audit("case_open", ring_id=ring_id, run_id=run_id)
    flash("Case opened.")
    return redirect(url_for("cases.case_page", ring_id=ring_id))


@bp.route("/cases/<ring_id>/update", methods=["POST"])
@require_role(*EDITORS)
def update_case(ring_id: str):
    """Change a case's status, assignee or disposition from the form.

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    changes = {k: field(k) for k in ("status", "assignee", "disposition") if k in request.form}
    cases().update(check_id("case", ring_id), **changes)
    audit("case_update", ring_id=ring_id, **changes)
    flash("Case updated.")
    return redirect(url_for("cases.case_page", ring_id=ring_id))


@bp.route("/cases/<ring_id>/comment", methods=["POST"])
@require_role(*EDITORS)
def comment(ring_id: str):
    """Add the form's comment to a case.

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    cases().comment(check_id("case", ring_id), author=g.user["name"], body=field("body", ""))
    audit("case_comment", ring_id=ring_id)
    return redirect(url_for("cases.case_page", ring_id=ring_id) + "#comments")


@bp.route("/rings/<ring_id>/bundle", methods=["POST"])
def bundle(ring_id: str):
    """The ring's evidence bundle as a zip; analysts get it pseudonymised.

    Parameters
    ----------
    ring_id : str
        From the URL.
    """
    # Imported here: the export pulls in matplotlib and fpdf, which the viewer's start-up can do without.
    from export import export_ring

    run_id = current_run_id(field("run"))
    runs().ring(run_id, check_id("ring", ring_id))
    pseudonymise = g.user["role"] == "analyst"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{ring_id}.zip"
        export_ring(settings(), ring_id, out, run_id=run_id, pseudonymise=pseudonymise, actor=g.user["name"],
                    role=g.user["role"], casework=casework(), claims_store=claims_store())
        data = out.read_bytes()
    audit("export_bundle", ring_id=ring_id, run_id=run_id, pseudonymised=pseudonymise, bytes=len(data))
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=f"shabaka-{ring_id}-{run_id}.zip")
