"""The evidence report as PDF (fpdf2), with the same content as the HTML report.

DejaVu fonts shipped with matplotlib give full French accents without any
download; the creation date is the run's, so the same ring gives the same bytes.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime, timezone
from pathlib import Path

import matplotlib
import pandas as pd
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from export.evidence import INDICATOR_LABELS
from export.report_model import (
    ReportData, format_mad, format_number, params_text, summary_rows,
)
from export.texts import (
    INDICATOR_NOTE_EN, INDICATOR_NOTE_FR, METHOD_EN, METHOD_FR, PSEUDONYM_NOTE_EN, PSEUDONYM_NOTE_FR, SCORE_HELP,
    SCORE_HELP_FR, VERIFY_NOTE,
)

__all__ = ["render_pdf"]

# fontTools logs every glyph of every font subset at INFO; that drowns the CLI's own log.
logging.getLogger("fontTools").setLevel(logging.WARNING)

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def render_pdf(data: ReportData) -> bytes:
    """Render the report as PDF bytes.

    Parameters
    ----------
    data : ReportData

    Returns
    -------
    bytes
    """
    pdf = _Report()
    pdf.set_creation_date(_created(data.run.get("finished_at")))
    pdf.set_title(f"Shabaka evidence report {data.ring['ring_id']}")
    pdf.set_author(f"Shabaka {data.software_version}")
    ring, run = data.ring, data.run
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 8, f"Evidence report / Rapport de preuve\n{ring['ring_id']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 13)
    pdf.set_text_color(214, 39, 40)
    pdf.cell(0, 9, f"Amount at risk / montant à risque : {format_mad(ring['amount_at_risk'])}",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.paragraph(data.story or str(ring.get("summary") or ""))
    pdf.grid(summary_rows(data), header=None, widths=(60, 120))
    if data.pseudonymised:
        pdf.note(f"{PSEUDONYM_NOTE_FR} {PSEUDONYM_NOTE_EN} (key id {data.key_id})")
    pdf.heading("Network / Réseau")
    pdf.note(f"{data.n_nodes} nodes / nœuds, {data.n_edges} edges / liens; fixed-seed spring layout.")
    pdf.image(io.BytesIO(data.network_png), w=170)
    pdf.heading("Members and evidence / Membres et éléments")
    members = data.members.reindex(columns=["entity_type", "entity_id", "role", "score", "sentence", "evidence"])
    pdf.grid([(r.entity_type, r.entity_id, r.role, format_number(r.score),
               r.sentence if isinstance(r.sentence, str) else r.evidence)
              for r in members.itertuples(index=False)],
             header=("type", "id", "role", "score", "what it did / ce qu'il a fait"), widths=(24, 38, 26, 14, 78),
             size=7)
    pdf.note(f"score: {SCORE_HELP} {SCORE_HELP_FR}")
    pdf.heading("Indicators against peers / Indicateurs comparés aux pairs")
    pdf.note(f"{INDICATOR_NOTE_EN} {INDICATOR_NOTE_FR}")
    if data.peer_note:
        pdf.paragraph(data.peer_note)
    pdf.grid([(f"{r.entity_type} {r.entity_id}", r.peer_group, INDICATOR_LABELS.get(r.indicator, r.indicator),
               format_number(r.value), format_number(r.peer_median), format_number(r.z), str(int(r.n_peers)))
              for r in data.indicators.itertuples(index=False)],
             header=("member", "peer group", "indicator", "value", "peer median", "z", "peers"),
             widths=(34, 28, 52, 18, 18, 12, 12), size=7)
    pdf.heading("Timeline / Chronologie")
    pdf.image(io.BytesIO(data.timeline_png), w=170)
    pdf.grid([(r.date, str(r.n_claims), str(r.n_lines), format_number(r.amount))
              for r in data.timeline.itertuples(index=False)],
             header=("date", "claims", "lines", "amount (MAD)"), widths=(40, 30, 30, 50), size=8)
    pdf.heading("Méthode")
    pdf.paragraph(METHOD_FR)
    pdf.heading("Method")
    pdf.paragraph(METHOD_EN)
    pdf.heading("Parameters / Paramètres")
    pdf.set_font("DejaVuMono", "", 7)
    pdf.multi_cell(0, 3.5, params_text(data.params), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.heading("Provenance")
    pdf.paragraph(f"Shabaka {data.software_version}; run {run['run_id']} ({run.get('kind') or ''}, "
                  f"finished {run.get('finished_at') or ''}, version {run.get('version') or ''}).")
    batches = pd.DataFrame(data.batches).reindex(columns=["batch_id", "source_name", "rows", "sha256"])
    pdf.grid([(str(r.batch_id), str(r.source_name), format_number(r.rows, 0), str(r.sha256))
              for r in batches.itertuples(index=False)],
             header=("batch", "source", "rows", "SHA-256"), widths=(22, 38, 16, 104), size=6)
    pdf.note(VERIFY_NOTE)
    return bytes(pdf.output())


def _created(finished_at) -> datetime:
    try:
        when = datetime.fromisoformat(str(finished_at))
    except ValueError:
        return _EPOCH
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class _Report(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        self.add_font("DejaVu", "", str(_FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font("DejaVuMono", "", str(_FONT_DIR / "DejaVuSansMono.ttf"))
        self.set_font("DejaVu", "", 10)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 5, f"{self.title} — page {self.page_no()}", align="C")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font("DejaVu", "B", 12)
        self.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("DejaVu", "", 10)

    def paragraph(self, text: str) -> None:
        self.set_font("DejaVu", "", 9.5)
        self.multi_cell(0, 4.8, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def note(self, text: str) -> None:
        self.set_font("DejaVu", "", 7.5)
        self.set_text_color(90, 90, 90)
        self.multi_cell(0, 3.8, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(1)

    def grid(self, rows, *, header, widths, size: float = 8.5) -> None:
        self.set_font("DejaVu", "", size)
        with self.table(col_widths=widths, width=sum(widths), align="LEFT", text_align="LEFT",
                        first_row_as_headings=header is not None,
                        line_height=size * 0.5) as table:
            if header is not None:
                table.row([str(h) for h in header])
            for row in rows:
                table.row(["" if pd.isna(v) else str(v) for v in row])
            if not rows:
                table.row(["none / aucun"] + [""] * (len(widths) - 1))
        self.set_font("DejaVu", "", 10)
        self.ln(2)
