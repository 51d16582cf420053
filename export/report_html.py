"""The evidence report as one self-contained HTML file (inline CSS and SVG, nothing fetched)."""

from __future__ import annotations

from html import escape

import pandas as pd

from export.evidence import INDICATOR_LABELS
from export.report_model import (
    ReportData, format_mad, format_number, params_text, summary_rows,
)
from export.texts import (
    INDICATOR_NOTE_EN, INDICATOR_NOTE_FR, METHOD_EN, METHOD_FR, PSEUDONYM_NOTE_EN, PSEUDONYM_NOTE_FR, SCORE_HELP,
    SCORE_HELP_FR, VERIFY_NOTE,
)

__all__ = ["render_html"]

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:60em;color:#222;line-height:1.4}
h1{font-size:1.5em;border-bottom:2px solid #d62728}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .45em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.key{font-size:1.3em;font-weight:bold;color:#d62728}.note{color:#555;font-size:.85em}
code,pre{font-family:"DejaVu Sans Mono",monospace;font-size:.8em}pre{background:#f7f7f7;padding:.6em;overflow:auto}
.figure svg{max-width:100%;height:auto}
"""


def render_html(data: ReportData) -> str:
    """Render the report as a complete HTML document (UTF-8 text).

    Parameters
    ----------
    data : ReportData

    Returns
    -------
    str
    """
    ring, run = data.ring, data.run
    parts = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        f"<title>Shabaka — {escape(str(ring['ring_id']))}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evidence report / Rapport de preuve — {escape(str(ring['ring_id']))}</h1>",
        "<h2>Summary / Résumé</h2>",
        f"<p>{escape(data.story or str(ring.get('summary') or ''))}</p>",
        _table(pd.DataFrame([
            ("amount at risk / montant à risque", format_mad(ring["amount_at_risk"])),
            *summary_rows(data),
        ], columns=["", ""]), header=False),
        f'<p class="key">Amount at risk / montant à risque : {escape(format_mad(ring["amount_at_risk"]))}</p>',
    ]
    if data.pseudonymised:
        parts.append(f'<p class="note">{escape(PSEUDONYM_NOTE_FR)}<br>{escape(PSEUDONYM_NOTE_EN)} '
                     f"(key id {escape(str(data.key_id))})</p>")
    members = data.members.reindex(columns=["entity_type", "entity_id", "role", "score", "sentence", "note"])
    members = members.rename(columns={"sentence": "what it did / ce qu'il a fait", "note": "detector / détecteur"})
    parts += ["<h2>Members and evidence / Membres et éléments</h2>", _table(members, numeric={"score"}),
              f'<p class="note">score: {escape(SCORE_HELP)} {escape(SCORE_HELP_FR)}</p>']
    parts += ["<h2>Indicators against peers / Indicateurs comparés aux pairs</h2>",
              f'<p class="note">{escape(INDICATOR_NOTE_EN)} {escape(INDICATOR_NOTE_FR)}</p>',
              f"<p>{escape(data.peer_note)}</p>" if data.peer_note else "",
              _table(_indicator_frame(data.indicators), numeric={"value", "peer median", "z", "peers"})]
    parts += ["<h2>Network / Réseau</h2>",
              f'<p class="note">{data.n_nodes} nodes / nœuds, {data.n_edges} edges / liens. '
              "Fixed-seed spring layout / disposition à graine fixe.</p>",
              f'<div class="figure">{data.network_svg}</div>']
    parts += ["<h2>Timeline / Chronologie</h2>", f'<div class="figure">{data.timeline_svg}</div>',
              _table(data.timeline.rename(columns={"n_claims": "claims", "n_lines": "lines", "amount": "amount (MAD)"}),
                     numeric={"claims", "lines", "amount (MAD)"})]
    parts += ["<h2>Méthode</h2>", f"<p>{escape(METHOD_FR)}</p>", "<h2>Method</h2>", f"<p>{escape(METHOD_EN)}</p>"]
    parts += ["<h2>Parameters / Paramètres</h2>", f"<pre>{escape(params_text(data.params))}</pre>"]
    batches = pd.DataFrame(data.batches).reindex(columns=["batch_id", "source_name", "rows", "sha256"])
    parts += ["<h2>Provenance</h2>",
              f"<p>Software / logiciel : Shabaka {escape(data.software_version)} — run {escape(str(run['run_id']))} "
              f"({escape(str(run.get('kind') or ''))}, finished / terminé {escape(str(run.get('finished_at') or ''))}, "
              f"version {escape(str(run.get('version') or ''))}).</p>",
              "<p>Claim batches and their SHA-256 / lots de demandes et leur SHA-256 :</p>",
              _table(batches, numeric={"rows"}, code={"sha256"}),
              f'<p class="note">{escape(VERIFY_NOTE)}</p>']
    if data.files:
        parts += ["<h2>Files / Fichiers</h2><ul>"] + [f"<li><code>{escape(f)}</code></li>" for f in data.files] + ["</ul>"]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _indicator_frame(indicators: pd.DataFrame) -> pd.DataFrame:
    if indicators.empty:
        return pd.DataFrame(columns=["member", "peer group", "indicator", "value", "peer median", "z", "peers"])
    return pd.DataFrame({
        "member": indicators["entity_type"] + " " + indicators["entity_id"],
        "peer group": indicators["peer_group"],
        "indicator": [INDICATOR_LABELS.get(k, k) for k in indicators["indicator"]],
        "value": indicators["value"],
        "peer median": indicators["peer_median"],
        "z": indicators["z"],
        "peers": indicators["n_peers"].astype(int),
    })


def _table(frame: pd.DataFrame, *, numeric: set[str] = frozenset(), code: set[str] = frozenset(),
           header: bool = True) -> str:
    rows = []
    if header:
        rows.append("<tr>" + "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns) + "</tr>")
    for record in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, record):
            if col in numeric:
                cells.append(f'<td class="num">{escape(format_number(value))}</td>')
            elif col in code:
                cells.append(f"<td><code>{escape(str(value))}</code></td>")
            else:
                cells.append(f"<td>{escape('' if pd.isna(value) else str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not frame.columns.size or not len(frame):
        rows.append("<tr><td>none / aucun</td></tr>")
    return "<table>" + "".join(rows) + "</table>"
