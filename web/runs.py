"""The runs (weeks) overview: the landing page."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.context import audit, runs

__all__ = ["bp"]

bp = Blueprint("runs", __name__)


@bp.route("/")
def overview():
    """Every finished run, newest first, with its ring count, amount at risk and alerts."""
    table = runs().runs()
    totals = {r["run_id"]: dict(r) for r in runs().conn.execute(
        "SELECT run_id, COUNT(*) AS n_rings, SUM(amount_at_risk) AS amount FROM rings GROUP BY run_id")}
    alerted = {r["run_id"]: r["n"] for r in runs().conn.execute(
        "SELECT run_id, COUNT(*) AS n FROM alerts WHERE alerted = 1 GROUP BY run_id")}
    rows = []
    for rec in table.to_dict("records"):
        total = totals.get(rec["run_id"], {})
        rows.append({**rec, "n_rings": total.get("n_rings", 0), "amount": total.get("amount") or 0.0,
                     "alerts": alerted.get(rec["run_id"], 0)})
    audit("view_runs")
    return render_template("runs.html", runs=rows)
