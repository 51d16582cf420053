"""The plain data an evidence report is drawn from, shared by the HTML and PDF renderers."""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["ReportData", "format_mad", "format_number", "params_text"]


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows; built by the bundle, renderers only format it.

    Identifiers in it are already pseudonymised when the bundle is.
    """

    ring: dict[str, Any]
    run: dict[str, Any]
    params: dict[str, Any]
    members: pd.DataFrame
    indicators: pd.DataFrame
    timeline: pd.DataFrame
    batches: list[dict[str, Any]]
    software_version: str
    n_lines: int
    amount_claimed: float
    n_lines_at_risk: int
    amount_lines_at_risk: float
    period: tuple[str, str]
    n_nodes: int
    n_edges: int
    network_svg: str
    network_png: bytes
    timeline_svg: str
    timeline_png: bytes
    story: str = ""
    peer_note: str = ""
    pseudonymised: bool = False
    key_id: str | None = None
    files: list[str] = field(default_factory=list)


def format_mad(amount: float) -> str:
    """Dirhams with thousands separators and two decimals: ``51,840.00 MAD``.

    Parameters
    ----------
    amount : float
    """
    return f"{float(amount):,.2f} MAD"


def format_number(value: Any, digits: int = 2) -> str:
    """A number for a table cell; ``n/a`` for missing values.

    Parameters
    ----------
    value : number or None
    digits : int
        Decimals.
    """
    if value is None or pd.isna(value):
        return "n/a"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{float(value):,.{digits}f}"


def period_text(data: ReportData) -> str:
    """The run's claims window, or the service dates of the ring's lines when the run had none.

    Parameters
    ----------
    data : ReportData
    """
    first = data.run.get("window_from") or data.period[0]
    last = data.run.get("window_to") or data.period[1]
    return f"{first or '…'} → {last or '…'}"


def at_risk_text(data: ReportData) -> str:
    """How the amount at risk adds up from claims.csv.

    Parameters
    ----------
    data : ReportData
    """
    return (f"{data.n_lines_at_risk:,} lines flagged at_risk in claims.csv, "
            f"{format_mad(data.amount_lines_at_risk)} / {data.n_lines_at_risk:,} lignes at_risk")


def summary_rows(data: ReportData) -> list[tuple[str, str]]:
    """The ring's key figures, label and value, in report order (both the HTML and the PDF show them).

    Parameters
    ----------
    data : ReportData
    """
    ring, run = data.ring, data.run
    return [
        ("rank / rang (run)", f"{ring.get('rank')} ({run['run_id']})"),
        ("score", format_number(ring.get("score"), 3)),
        ("members / membres", str(ring.get("size"))),
        ("pattern / schéma", str(ring.get("scenario") or "")),
        ("regions / régions", str(ring.get("regions") or "")),
        ("regimes / régimes", str(ring.get("regimes") or "")),
        ("claim lines / lignes de soins", f"{data.n_lines:,}"),
        ("amount claimed / montant réclamé", format_mad(data.amount_claimed)),
        ("amount at risk, from / à risque, depuis", at_risk_text(data)),
        ("claims window / période", period_text(data)),
    ]


def params_text(params: dict[str, Any]) -> str:
    """Parameters as indented, key-sorted JSON.

    Parameters
    ----------
    params : dict
    """
    return json.dumps(params, indent=2, sort_keys=True, default=str, ensure_ascii=False)
