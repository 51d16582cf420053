"""The runs (weeks) overview: the landing page."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.context import audit, runs

__all__ = ["bp", "RUNS_SHOWN"]

bp = Blueprint("runs", __name__)
#: Most runs listed (the newest): four years of weekly runs.
RUNS_SHOWN = 200


@bp.route("/")
def overview():
    """The newest finished runs (at most :data:`RUNS_SHOWN`), with their ring counts, amounts at risk and alerts."""
    table = runs().runs(limit=RUNS_SHOWN)
    shown = list(table["run_id"])
    marks = ", ".join("?" for _ in shown)
    totals = {r["run_id"]: dict(r) for r in runs().conn.execute(
        f"SELECT run_id, COUNT(*) AS n_rings, SUM(amount_at_risk) AS amount FROM rings WHERE run_id IN ({marks})"
        " GROUP BY run_id", shown)}
    alerted = {r["run_id"]: r["n"] for r in runs().conn.execute(
        f"SELECT run_id, COUNT(*) AS n FROM alerts WHERE alerted = 1 AND run_id IN ({marks}) GROUP BY run_id", shown)}
    rows = []
    for rec in table.to_dict("records"):
        total = totals.get(rec["run_id"], {})
        rows.append({**rec, "n_rings": total.get("n_rings", 0), "amount": total.get("amount") or 0.0,
                     "alerts": alerted.get(rec["run_id"], 0)})
    audit("view_runs")
    return render_template("runs.html", runs=rows)
