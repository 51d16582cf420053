"""Validation of claim rows read as strings, with stable reason codes.

The checks run as Arrow compute kernels over whole columns rather than pandera or
row loops: every rule here must give each failing *row* a reason code and a readable
message while the rest of the chunk loads, and the rules are few and fixed by the
contract, so plain boolean masks are the simplest thing that does it. Masks become
numpy arrays only to combine them; messages are built for the rejected rows alone,
and the rows that pass stay an Arrow table all the way to the Parquet writer.

Text is trimmed with Unicode whitespace (``utf8_trim_whitespace``) and coded values
are upper-cased with ``utf8_upper``: the same kernels pandas' Arrow-backed strings use.
Numbers and dates must be ASCII digits. Dates must also fit the nanosecond range
(1677-09-22 to 2262-04-11) that :class:`ingest.store.ClaimsStore` reads them back into.

:func:`validate_table` and :func:`validate_claims` never raise on bad values: they
return the typed rows that passed and a report of the rows that did not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.phones import normalise_phones
from ingest.schema import (
    CLAIM_COLUMNS, CLAIM_DTYPES, ENUMS, ID_COLUMNS, MAX_FIELD_CHARS, MAX_ID_CHARS, REQUIRED_CLAIM_COLUMNS,
)

__all__ = ["REASONS", "ARROW_SCHEMA", "Validation", "TableValidation", "validate_claims", "validate_table",
           "typed_claims"]

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
    "FIELD_TOO_LONG": f"a value is longer than {MAX_FIELD_CHARS} characters",
    "ID_TOO_LONG": f"an identifier is longer than {MAX_ID_CHARS} characters",
}

_ARROW_TYPES = {"string": pa.string(), "int64": pa.int64(), "Int64": pa.int64(), "float64": pa.float64(),
                "boolean": pa.bool_(), "datetime64[ns]": pa.date32()}
#: The Arrow schema of validated rows (and of every batch's Parquet file): dates are dates.
ARROW_SCHEMA = pa.schema([pa.field(c, _ARROW_TYPES[t]) for c, t in CLAIM_DTYPES.items()])

#: (fewest, most) ASCII digits of a whole number and of a year
_INT = (1, 9)
_YEAR = (4, 4)
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T]00:00:00(?:\\.0+)?)?"
_DECIMAL = "[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)"
_DATE_RANGE = ("1677-09-22", "2262-04-11")
_TRUE = ("TRUE", "1", "T", "YES")
_FALSE = ("FALSE", "0", "F", "NO")


@dataclass
class TableValidation:
    """Outcome of validating one chunk held as Arrow.

    ``valid`` holds the rows that passed with :data:`ARROW_SCHEMA`, with their
    positions in the chunk in ``valid_pos``. ``issues`` has one row per rejected
    row: ``pos`` (position in the chunk), ``rule``, ``reason`` (the first code
    broken) and ``message`` (every problem found, joined by "; ").
    """

    valid: pa.Table
    valid_pos: np.ndarray
    issues: pd.DataFrame


@dataclass
class Validation:
    """Outcome of validating one chunk held as pandas.

    As :class:`TableValidation`, but ``valid`` is a DataFrame typed per ``CLAIM_DTYPES``.
    """

    valid: pd.DataFrame
    valid_pos: np.ndarray
    issues: pd.DataFrame


def validate_claims(raw: pd.DataFrame) -> Validation:
    """Check rows read as strings against the claims contract.

    Parameters
    ----------
    raw : DataFrame
        One column per file column, values as read (strings, "" or missing when
        empty). Columns outside the contract are ignored; optional ones may be absent.

    Returns
    -------
    Validation
    """
    result = validate_table(table_of_strings(raw))
    return Validation(typed_claims(result.valid), result.valid_pos, result.issues)


def table_of_strings(raw: pd.DataFrame) -> pa.Table:
    """The contract columns of a DataFrame of strings as an Arrow table (missing stays null).

    Parameters
    ----------
    raw : DataFrame
    """
    columns = [c for c in raw.columns if c in CLAIM_DTYPES]
    return pa.table({c: pa.array(raw[c].astype("str"), type=pa.string(), from_pandas=True) for c in columns})


def validate_table(raw: pa.Table) -> TableValidation:
    """Check rows read as strings against the claims contract, column by column.

    Parameters
    ----------
    raw : pyarrow.Table
        One string column per file column, values as read ("" or null when empty).
        Columns outside the contract are ignored; optional ones may be absent.

    Returns
    -------
    TableValidation
    """
    n = raw.num_rows
    clean = _clean(raw)
    present = {c: _mask(pc.is_valid(v)) for c, v in clean.items()}
    checks: list[tuple[np.ndarray, str, str, str]] = []

    def fail(mask: np.ndarray, rule: str, reason: str, message: str) -> None:
        if mask.any():
            checks.append((mask, rule, reason, message))

    def matching(col: str, pattern: str) -> np.ndarray:
        return _mask(pc.match_substring_regex(clean[col], f"^(?:{pattern})$"))

    def digits(col: str, longest: int, shortest: int = 1) -> np.ndarray:
        # ASCII digits only, as the patterns ask: cheaper than a regular expression
        values = clean[col]
        length = pc.binary_length(values)
        return _mask(pc.and_(pc.ascii_is_decimal(values),
                             pc.and_(pc.greater_equal(length, shortest), pc.less_equal(length, longest))))

    # Sizes first: a row holding a huge value is quarantined for that, whatever else it breaks.
    for col in raw.column_names:
        too_long = _longer_than(raw.column(col), MAX_FIELD_CHARS)
        if too_long is not None:
            fail(too_long, f"{col} length <= {MAX_FIELD_CHARS}", "FIELD_TOO_LONG",
                 f"{col}: value longer than {MAX_FIELD_CHARS} characters")
    for col in ID_COLUMNS:
        too_long = _longer_than(clean[col], MAX_ID_CHARS)
        if too_long is not None:
            fail(too_long, f"{col} length <= {MAX_ID_CHARS}", "ID_TOO_LONG",
                 f"{col}: identifier longer than {MAX_ID_CHARS} characters")

    for col in REQUIRED_CLAIM_COLUMNS:
        fail(~present[col], f"{col} required", "MISSING_REQUIRED", f"{col}: required value is empty")

    typed: dict[str, pa.Array] = {}
    for col, (shortest, longest) in (("line_no", _INT), ("birth_year", _YEAR), ("stay_days", _INT),
                                      ("quantity", _INT)):
        ok = digits(col, longest, shortest)
        typed[col] = pc.cast(_where(ok, clean[col]), pa.int64())
        bad = present[col] & ~ok
        if col in ("line_no", "quantity"):
            bad |= _mask(pc.less(typed[col], 1))
        typed[col] = _where(~bad, typed[col])
        if col == "quantity":
            fail(bad, "quantity int >= 1", "BAD_QUANTITY", "quantity: expected a whole number >= 1")
        elif col == "birth_year":
            fail(bad, "birth_year int", "BAD_INT", "birth_year: expected a four-digit year")
        else:
            floor = 1 if col == "line_no" else 0
            fail(bad, f"{col} int >= {floor}", "BAD_INT", f"{col}: expected a whole number >= {floor}")

    days = {}
    for col in ("service_date", "submission_date"):
        plain = _plain_dates(clean[col])
        if plain is not None:
            typed[col] = days[col] = plain
            ok = present[col]
        else:
            typed[col], days[col], ok = _dates(clean[col], matching(col, _DATE))
        fail(present[col] & ~ok, f"{col} date", "BAD_DATE", f"{col}: expected a date YYYY-MM-DD")
    fail(_mask(pc.less(days["submission_date"], days["service_date"])), "submission_date >= service_date",
         "SUBMISSION_BEFORE_SERVICE", "submission_date: before service_date")

    for col in ("amount_claimed", "amount_reimbursed"):
        ok = matching(col, _DECIMAL)
        fail(present[col] & ~ok, f"{col} decimal", "BAD_AMOUNT", f"{col}: expected a decimal number of dirhams")
        amounts = pc.cast(_where(ok, clean[col]), pa.float64())
        fail(_mask(pc.less(amounts, 0)), f"{col} >= 0", "NEGATIVE_AMOUNT", f"{col}: expected an amount >= 0")
        typed[col] = _round_cents(amounts)

    for col, allowed in ENUMS.items():
        bad = present[col] & ~_mask(pc.is_in(clean[col], value_set=pa.array(allowed)))
        fail(bad, f"{col} in enum", "UNKNOWN_ENUM", f"{col}: expected one of {', '.join(allowed)}")
    ald = clean["ald"]
    fail(present["ald"] & ~_mask(pc.is_in(ald, value_set=pa.array(_TRUE + _FALSE))), "ald bool", "BAD_BOOL",
         "ald: expected true, false, 1 or 0")
    typed["ald"] = _where(present["ald"], pc.is_in(ald, value_set=pa.array(_TRUE)))

    rejected = np.zeros(n, dtype=bool)
    for mask, *_ in checks:
        rejected |= mask
    table = pa.Table.from_arrays([typed.get(c, clean[c]) for c in CLAIM_COLUMNS], schema=ARROW_SCHEMA)
    keep = ~rejected
    valid = table if keep.all() else table.filter(pa.array(keep))
    return TableValidation(valid, np.flatnonzero(keep), _issues(checks, rejected))


def typed_claims(valid: pa.Table) -> pd.DataFrame:
    """Validated rows (:data:`ARROW_SCHEMA`) as a DataFrame with ``CLAIM_DTYPES``.

    Parameters
    ----------
    valid : pyarrow.Table
    """
    out = {}
    for col in valid.column_names:
        dtype = CLAIM_DTYPES[col]
        values = valid.column(col)
        if dtype.startswith("datetime64"):
            out[col] = pd.Series(pc.cast(values, pa.timestamp("ns")).to_numpy(zero_copy_only=False), dtype=dtype)
        elif dtype in ("Int64", "boolean", "string"):
            out[col] = pd.Series(values.to_pylist(), dtype=dtype)
        else:
            out[col] = pd.Series(values.to_numpy(), dtype=dtype)
    return pd.DataFrame(out, columns=valid.column_names)


def _clean(raw: pa.Table) -> dict[str, pa.Array]:
    """Contract columns trimmed, empty as null, coded values upper-cased, phones in one written form."""
    n = raw.num_rows
    out = {}
    for col in CLAIM_COLUMNS:
        if col in raw.column_names:
            values = _trimmed(raw.column(col).combine_chunks())
        else:
            values = pa.nulls(n, pa.string())
        if (col in ENUMS or col == "ald") and _may_have_lower_case(values):
            values = pc.utf8_upper(values)
        elif col == "contact_phone":
            values = normalise_phones(values)
        out[col] = values
    return out


def _trimmed(values: pa.Array) -> pa.Array:
    """Text trimmed, empty as null.

    Looking at each value's first and last byte first lets most columns skip the
    trimming kernel: when none is a space, a control character or non-ASCII, trimming
    would change nothing.
    """
    n = len(values)
    if n and not values.null_count:
        buffers = values.buffers()
        offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=values.offset * 4)
        filled = np.diff(offsets) > 0
        if not filled.any():
            return pa.nulls(n, pa.string())
        data = np.frombuffer(buffers[2], dtype=np.uint8)
        edges = np.concatenate([data[offsets[:-1][filled]], data[offsets[1:][filled] - 1]])
        if not ((edges <= 0x20) | (edges >= 0x7F)).any():
            return values if filled.all() else _where(filled, values)
    values = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _may_have_lower_case(values: pa.Array) -> bool:
    """False when every byte of the values is ASCII and none is a lower-case letter (upper-casing is a no-op)."""
    data = values.buffers()[2] if len(values) else None
    if data is None:
        return False
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=len(values) + 1, offset=values.offset * 4)
    used = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
    return bool(((used >= 0x61) & (used <= 0x7A)).any() or (used >= 0x80).any())


def _longer_than(values: pa.Array | pa.ChunkedArray, limit: int) -> np.ndarray | None:
    """Mask of values longer than ``limit`` characters, or None when none is.

    The byte length bounds the character length, so columns whose every value fits in
    ``limit`` bytes skip counting characters.
    """
    if not len(values) or not pa.types.is_string(values.type):
        return None
    longest = pc.max(pc.binary_length(values)).as_py()
    if longest is None or longest <= limit:
        return None
    mask = _mask(pc.greater(pc.utf8_length(values), limit))
    return mask if mask.any() else None


def _mask(values: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, null as False."""
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False)


def _where(keep: np.ndarray, values: pa.Array) -> pa.Array:
    """``values`` where ``keep``, else null."""
    if keep.all():
        return values
    return pc.if_else(pa.array(keep), values, pa.scalar(None, values.type))


def _plain_dates(text: pa.Array) -> pa.Array | None:
    """The dates (date32, null where missing) when every value present is a real ``YYYY-MM-DD``
    date within the readable range; None otherwise, and :func:`_dates` decides.

    The common case, read from the values' bytes with NumPy: no regular expression, no
    text slices, no ``strptime``, and the same outcome as :func:`_dates` for such values.
    """
    n = len(text)
    present = _mask(pc.is_valid(text))
    m = int(present.sum())
    if not m:
        return None
    buffers = text.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=text.offset * 4)
    lengths = np.diff(offsets)
    # the values present, ten bytes each, side by side in the buffer (missing ones hold no bytes)
    if not ((lengths == 10) == present).all():
        return None
    data = np.frombuffer(buffers[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(m, 10)
    digits = data[:, [0, 1, 2, 3, 5, 6, 8, 9]]
    if not (((digits >= 0x30) & (digits <= 0x39)).all() and (data[:, [4, 7]] == 0x2D).all()):
        return None
    value = digits.astype(np.int64) - 0x30
    year = value[:, 0] * 1000 + value[:, 1] * 100 + value[:, 2] * 10 + value[:, 3]
    month = value[:, 4] * 10 + value[:, 5]
    day = value[:, 6] * 10 + value[:, 7]
    if not ((month >= 1) & (month <= 12) & (day >= 1)).all():
        return None
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    if not (day <= ((months + 1).astype("datetime64[D]") - first).astype(np.int64)).all():
        return None
    dates = first + (day - 1).astype("timedelta64[D]")
    if not ((dates >= np.datetime64(_DATE_RANGE[0])) & (dates <= np.datetime64(_DATE_RANGE[1]))).all():
        return None
    out = np.zeros(n, dtype=np.int32)
    out[present] = dates.astype(np.int64)
    return pa.array(out, type=pa.int32()).cast(pa.date32()) if present.all() else \
        pa.array(out, type=pa.int32(), mask=~present).cast(pa.date32())


def _dates(text: pa.Array, shaped: np.ndarray) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """Parse dates: (date32 when valid, date32 of the first ten characters, ok mask).

    ``strptime`` rolls impossible days over (Feb 30 -> Mar 2), so a well-shaped day is
    valid only when its day of month is the one written. The second array is what
    the submission-before-service rule compares, so that rule is also reported beside
    a badly shaped date that pandas still reads (``2025-2-28``); those few rows are
    parsed by pandas.
    """
    day = pc.utf8_slice_codeunits(text, 0, 10)
    stamp = pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True)
    written_day = pc.cast(_where(shaped, pc.utf8_slice_codeunits(text, 8, 10)), pa.int64())
    real = _mask(pc.equal(pc.day(stamp), written_day))
    in_range = _mask(pc.and_(pc.greater_equal(day, _DATE_RANGE[0]), pc.less_equal(day, _DATE_RANGE[1])))
    ok = shaped & real & in_range
    days = _where(ok, pc.cast(stamp, pa.date32()))
    odd = np.flatnonzero(~ok & _mask(pc.is_valid(stamp)))
    if len(odd):
        parsed = pd.to_datetime(pd.Series(day.take(pa.array(odd)).to_pylist(), dtype="str"), format="%Y-%m-%d",
                                errors="coerce")
        readable = parsed.notna().to_numpy()
        if readable.any():
            values = days.to_numpy(zero_copy_only=False).astype("datetime64[D]")
            values[odd[readable]] = parsed[readable].to_numpy().astype("datetime64[D]")
            valid = ok.copy()
            valid[odd[readable]] = True
            days = pa.array(values, type=pa.date32(), mask=~valid)
    return _where(ok, days), days, ok


def _round_cents(amounts: pa.Array) -> pa.Array:
    """Round to two decimals as numpy does (null stays null)."""
    valid = _mask(pc.is_valid(amounts))
    values = np.round(pc.fill_null(amounts, 0.0).to_numpy(zero_copy_only=False), 2)
    return pa.array(values, type=pa.float64(), mask=~valid)


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
