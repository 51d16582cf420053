"""Validation of claim rows read as strings, with stable reason codes.

Vectorised pandas rather than pandera: every rule here must give each failing *row*
a reason code and a readable message while the rest of the chunk loads;
pandera's lazy mode reports failure cases per check, which
would then have to be joined back to rows, and its per-check overhead is paid on
every chunk. The rules are few and fixed by the contract, so plain boolean masks
are the simplest thing that does it.

:func:`validate_claims` never raises on bad values: it returns the typed rows that
passed and a report of the rows that did not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES, ENUMS, REQUIRED_CLAIM_COLUMNS

__all__ = ["REASONS", "Validation", "validate_claims", "typed_claims"]

#: Reason code -> what it means. Codes are stable: scripts may filter on them.
REASONS: dict[str, str] = {
    "BAD_ROW": "the row could not be split into the header's columns",
    "MISSING_REQUIRED": "a required value is empty",
    "BAD_INT": "an integer field (line_no, birth_year, stay_days) is not a whole number in range",
    "BAD_QUANTITY": "quantity is not a whole number >= 1",
    "BAD_DATE": "a date is not a valid YYYY-MM-DD date",
    "BAD_AMOUNT": "an amount is not a decimal number",
    "NEGATIVE_AMOUNT": "an amount is below zero",
    "SUBMISSION_BEFORE_SERVICE": "submission_date is before service_date",
    "UNKNOWN_ENUM": "a coded value is not one of the contract's values",
    "BAD_BOOL": "ald is not true/false/1/0",
    "DUPLICATE_KEY": "(claim_id, line_no) was already loaded or seen earlier (providers: provider_id in one file)",
    "BAD_COORDINATE": "a provider's latitude or longitude is not a number in range",
}

_INT = r"\d{1,9}"
_YEAR = r"\d{4}"
_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]00:00:00(?:\.0+)?)?"
_DECIMAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_TRUE = {"TRUE", "1", "T", "YES"}
_FALSE = {"FALSE", "0", "F", "NO"}


@dataclass
class Validation:
    """Outcome of validating one chunk.

    ``valid`` holds the rows that passed, typed per ``CLAIM_DTYPES``, with their
    positions in the chunk in ``valid_pos``. ``issues`` has one row per rejected
    row: ``pos`` (position in the chunk), ``rule``, ``reason`` (the first code
    broken) and ``message`` (every problem found, joined by "; ").
    """

    valid: pd.DataFrame
    valid_pos: np.ndarray
    issues: pd.DataFrame


def validate_claims(raw: pd.DataFrame) -> Validation:
    """Check rows read as strings against the claims contract.

    Parameters
    ----------
    raw : DataFrame
        One column per file column, values as read (strings, "" when empty).
        Columns outside the contract are ignored; optional ones may be absent.

    Returns
    -------
    Validation
    """
    n = len(raw)
    clean = _clean(raw)
    checks: list[tuple[np.ndarray, str, str, str]] = []

    def fail(mask, rule: str, reason: str, message: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            checks.append((mask, rule, reason, message))

    for col in REQUIRED_CLAIM_COLUMNS:
        fail(clean[col].isna(), f"{col} required", "MISSING_REQUIRED", f"{col}: required value is empty")

    present = {c: clean[c].notna().to_numpy() for c in CLAIM_COLUMNS}

    def not_matching(col: str, pattern: str) -> np.ndarray:
        ok = clean[col].str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        return present[col] & ~ok

    fail(not_matching("line_no", _INT) | (present["line_no"] & (_ints(clean["line_no"]) < 1)),
         "line_no int >= 1", "BAD_INT", "line_no: expected a whole number >= 1")
    fail(not_matching("birth_year", _YEAR), "birth_year int", "BAD_INT", "birth_year: expected a four-digit year")
    fail(not_matching("stay_days", _INT), "stay_days int >= 0", "BAD_INT", "stay_days: expected a whole number >= 0")
    fail(not_matching("quantity", _INT) | (present["quantity"] & (_ints(clean["quantity"]) < 1)),
         "quantity int >= 1", "BAD_QUANTITY", "quantity: expected a whole number >= 1")

    dates = {}
    for col in ("service_date", "submission_date"):
        dates[col] = pd.to_datetime(clean[col].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        bad = not_matching(col, _DATE) | (present[col] & dates[col].isna().to_numpy())
        fail(bad, f"{col} date", "BAD_DATE", f"{col}: expected a date YYYY-MM-DD")
    before = (dates["submission_date"] < dates["service_date"]).fillna(False).to_numpy(dtype=bool)
    fail(before, "submission_date >= service_date", "SUBMISSION_BEFORE_SERVICE",
         "submission_date: before service_date")

    for col in ("amount_claimed", "amount_reimbursed"):
        bad = not_matching(col, _DECIMAL)
        fail(bad, f"{col} decimal", "BAD_AMOUNT", f"{col}: expected a decimal number of dirhams")
        negative = present[col] & ~bad & (pd.to_numeric(clean[col].where(~bad), errors="coerce") < 0).to_numpy()
        fail(negative, f"{col} >= 0", "NEGATIVE_AMOUNT", f"{col}: expected an amount >= 0")

    for col, allowed in ENUMS.items():
        bad = present[col] & ~clean[col].isin(allowed).to_numpy()
        fail(bad, f"{col} in enum", "UNKNOWN_ENUM", f"{col}: expected one of {', '.join(allowed)}")
    ald = clean["ald"]
    fail(present["ald"] & ~ald.isin(_TRUE | _FALSE).to_numpy(), "ald bool", "BAD_BOOL",
         "ald: expected true, false, 1 or 0")

    rejected = np.zeros(n, dtype=bool)
    for mask, *_ in checks:
        rejected |= mask
    issues = _issues(checks, rejected)
    keep = ~rejected
    valid = typed_claims(clean.loc[keep], dates={c: d[keep] for c, d in dates.items()})
    return Validation(valid, np.flatnonzero(keep), issues)


def typed_claims(clean: pd.DataFrame, dates: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Convert cleaned, already validated string columns to ``CLAIM_DTYPES``."""
    out = {}
    for col, dtype in CLAIM_DTYPES.items():
        values = clean[col]
        if dtype == "string":
            out[col] = values.astype("string")
        elif dtype in ("int64", "Int64"):
            out[col] = pd.to_numeric(values, errors="raise").astype(dtype)
        elif dtype == "float64":
            out[col] = pd.to_numeric(values, errors="raise").astype("float64").round(2)
        elif dtype == "boolean":
            out[col] = values.map(lambda v: v in _TRUE, na_action="ignore").astype("boolean")
        else:
            parsed = dates[col] if dates is not None else pd.to_datetime(values.str.slice(0, 10), format="%Y-%m-%d")
            out[col] = pd.Series(parsed.to_numpy(), index=clean.index).astype(dtype)
    return pd.DataFrame(out, index=clean.index).reset_index(drop=True)


def _clean(raw: pd.DataFrame) -> pd.DataFrame:
    """Contract columns trimmed, empty as missing, coded values upper-cased."""
    n = len(raw)
    out = {}
    for col in CLAIM_COLUMNS:
        if col in raw.columns:
            values = raw[col].astype("str").str.strip()
            values = values.mask(values == "")
        else:
            values = pd.Series([None] * n, dtype="str", index=raw.index)
        if col in ENUMS or col == "ald":
            values = values.str.upper()
        out[col] = values
    return pd.DataFrame(out, index=raw.index)


def _ints(values: pd.Series) -> np.ndarray:
    """Whole numbers where the text is digits, else a large value (never flagged as < 1)."""
    ok = values.str.fullmatch(_INT).fillna(False).to_numpy(dtype=bool)
    out = np.full(len(values), 10**10, dtype=np.int64)
    if ok.any():
        out[ok] = pd.to_numeric(values[ok]).to_numpy(dtype=np.int64)
    return out


def _issues(checks: list[tuple[np.ndarray, str, str, str]], rejected: np.ndarray) -> pd.DataFrame:
    """One row per rejected position: first rule and reason broken, every message."""
    pos = np.flatnonzero(rejected)
    rule = np.full(len(pos), None, dtype=object)
    reason = np.full(len(pos), None, dtype=object)
    messages: list[list[str]] = [[] for _ in pos]
    for mask, rule_text, code, message in checks:
        hit = np.flatnonzero(mask[pos])
        first = hit[pd.isna(reason[hit])]
        rule[first] = rule_text
        reason[first] = code
        for i in hit:
            messages[i].append(message)
    return pd.DataFrame({
        "pos": pos.astype(np.int64),
        "rule": rule,
        "reason": reason,
        "message": ["; ".join(m) for m in messages],
    })
