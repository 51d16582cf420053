"""The claims contract's validation for a handful of rows, in plain Python.

:func:`ingest.validate.validate_table` runs each rule as an Arrow kernel over whole
columns: the right tool for a file, but each call costs milliseconds of fixed overhead,
too much for one dossier scored through the API. :func:`validate_records` applies the same
rules, in the same order, to a few rows: the same rows pass, with the same values, and a
refused row gets the same first reason code (a test checks both on generated rows).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ingest.phones import normalise_phone
from ingest.schema import CLAIM_COLUMNS, ENUMS, REQUIRED_CLAIM_COLUMNS

__all__ = ["validate_records"]

_INT = re.compile(r"[0-9]{1,9}")
_YEAR = re.compile(r"[0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T]00:00:00(?:\.0+)?)?")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE_RANGE = ("1677-09-22", "2262-04-11")
_TRUE = ("TRUE", "1", "T", "YES")
_FALSE = ("FALSE", "0", "F", "NO")
_CODED = frozenset(ENUMS) | {"ald"}


def validate_records(records: Sequence[Mapping[str, Any]]) -> tuple[dict[str, list[Any]], list[int],
                                                                   list[tuple[int, str, str, str]]]:
    """Check rows (column -> text, or None when empty) against the claims contract.

    Parameters
    ----------
    records : sequence of mapping
        One mapping per row; values are read as text (``str(value)``), columns outside
        the contract ignored, optional ones may be absent.

    Returns
    -------
    (valid, valid_pos, issues)
        ``valid`` maps every contract column to the values of the rows that passed (ints,
        dates as :class:`datetime.date`, amounts rounded to cents, ``ald`` as bool, text
        trimmed and coded values upper-cased, empty as None); ``valid_pos`` their positions;
        ``issues`` one ``(pos, rule, reason, message)`` per refused row, the first rule
        broken (in :func:`ingest.validate.validate_table`'s order) and every message.
    """
    valid: dict[str, list[Any]] = {c: [] for c in CLAIM_COLUMNS}
    valid_pos: list[int] = []
    issues: list[tuple[int, str, str, str]] = []
    for pos, record in enumerate(records):
        typed, problems = _row(record)
        if problems:
            issues.append((pos, problems[0][0], problems[0][1], "; ".join(p[2] for p in problems)))
            continue
        valid_pos.append(pos)
        for column in CLAIM_COLUMNS:
            valid[column].append(typed[column])
    return valid, valid_pos, issues


def _row(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    clean: dict[str, Any] = {}
    for column in CLAIM_COLUMNS:
        value = record.get(column)
        # str.strip removes what Arrow's utf8_trim_whitespace does (a test checks it)
        text = None if value is None else str(value).strip() or None
        clean[column] = text.upper() if text is not None and column in _CODED else text
    clean["contact_phone"] = normalise_phone(clean["contact_phone"])
    problems: list[tuple[str, str, str]] = []
    for column in REQUIRED_CLAIM_COLUMNS:
        if clean[column] is None:
            problems.append((f"{column} required", "MISSING_REQUIRED", f"{column}: required value is empty"))
    typed = dict(clean)
    for column, pattern in (("line_no", _INT), ("birth_year", _YEAR), ("stay_days", _INT), ("quantity", _INT)):
        text = clean[column]
        number = int(text) if text is not None and pattern.fullmatch(text) else None
        bad = text is not None and (number is None or (column in ("line_no", "quantity") and number < 1))
        typed[column] = None if bad else number
        if not bad:
            continue
        if column == "quantity":
            problems.append(("quantity int >= 1", "BAD_QUANTITY", "quantity: expected a whole number >= 1"))
        elif column == "birth_year":
            problems.append(("birth_year int", "BAD_INT", "birth_year: expected a four-digit year"))
        else:
            floor = 1 if column == "line_no" else 0
            problems.append((f"{column} int >= {floor}", "BAD_INT", f"{column}: expected a whole number >= {floor}"))
    for column in ("service_date", "submission_date"):
        text = clean[column]
        typed[column] = _date(text) if text is not None and _DATE.fullmatch(text) else None
        if text is not None and typed[column] is None:
            problems.append((f"{column} date", "BAD_DATE", f"{column}: expected a date YYYY-MM-DD"))
    if typed["service_date"] and typed["submission_date"] and typed["submission_date"] < typed["service_date"]:
        problems.append(("submission_date >= service_date", "SUBMISSION_BEFORE_SERVICE",
                         "submission_date: before service_date"))
    for column in ("amount_claimed", "amount_reimbursed"):
        text = clean[column]
        amount = float(text) if text is not None and _DECIMAL.fullmatch(text) else None
        if text is not None and amount is None:
            problems.append((f"{column} decimal", "BAD_AMOUNT", f"{column}: expected a decimal number of dirhams"))
        if amount is not None and amount < 0:
            problems.append((f"{column} >= 0", "NEGATIVE_AMOUNT", f"{column}: expected an amount >= 0"))
        typed[column] = None if amount is None else _cents(amount)
    for column, allowed in ENUMS.items():
        if clean[column] is not None and clean[column] not in allowed:
            problems.append((f"{column} in enum", "UNKNOWN_ENUM", f"{column}: expected one of {', '.join(allowed)}"))
    ald = clean["ald"]
    if ald is not None and ald not in _TRUE + _FALSE:
        problems.append(("ald bool", "BAD_BOOL", "ald: expected true, false, 1 or 0"))
    typed["ald"] = None if ald is None else ald in _TRUE
    return typed, problems


def _cents(amount: float) -> float:
    """``numpy.round(amount, 2)`` without numpy's per-call cost: half-even on ``amount * 100``."""
    scaled = amount * 100
    return round(scaled) / 100 if math.isfinite(scaled) else amount


def _date(text: str) -> date | None:
    """The date written in the first ten characters, when it exists and fits the store's range."""
    day = text[:10]
    if not _DATE_RANGE[0] <= day <= _DATE_RANGE[1]:
        return None
    try:
        return date(int(day[:4]), int(day[5:7]), int(day[8:10]))
    except ValueError:
        return None
