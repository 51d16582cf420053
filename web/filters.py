"""Jinja filters: amounts in MAD, scores, dates."""

from __future__ import annotations

import math
from typing import Any

from flask import Flask

from export.texts import SCORE_HELP

__all__ = ["register_filters", "mad", "number"]


def mad(value: Any, decimals: int = 2) -> str:
    """``12345.5`` -> ``"12,345.50 MAD"``; empty for missing values.

    Parameters
    ----------
    value : number or None
    decimals : int
    """
    shown = number(value, decimals)
    return f"{shown} MAD" if shown else ""


def number(value: Any, decimals: int = 0) -> str:
    """A number with thousands separators; empty for missing values.

    Parameters
    ----------
    value : number or None
    decimals : int
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(value) else f"{value:,.{decimals}f}"


def day(value: Any) -> str:
    """A date or timestamp as ``YYYY-MM-DD``; empty for missing values.

    Parameters
    ----------
    value : date, str or None
    """
    text = "" if value is None else str(value)
    return "" if text in ("NaT", "nan", "None", "<NA>") else text[:10]


def register_filters(app: Flask) -> None:
    """Install the template filters ``mad``, ``number`` and ``day``, and the global ``SCORE_HELP``.

    Parameters
    ----------
    app : Flask
    """
    app.jinja_env.filters.update(mad=mad, number=number, day=day)
    app.jinja_env.globals.update(SCORE_HELP=SCORE_HELP)
