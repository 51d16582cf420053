"""One written form per phone number, so that identifiers match however they were typed.

Providers' software and agents write the same Moroccan number as ``0612345678``,
``+212612345678``, ``00212 6 12 34 56 78``, ``06-12-34-56-78`` or ``212612345678``.
Matching identifiers (intermediary inference, watch lists) compares texts, so every
phone is rewritten to its national form once, at ingest, by :func:`normalise_phone`.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["normalise_phone", "normalise_phones"]

_NOT_DIGIT = re.compile(r"\D")
# What a phone is written with: digits, a leading plus, spaces, dots, dashes, slashes and brackets.
_PHONE_TEXT = re.compile(r"[\d\s.\-/()+]+")
_COUNTRY = "212"


def normalise_phone(text: str | None) -> str | None:
    """The national form (``0`` + 9 digits) of a Moroccan phone, whatever its separators and prefix.

    Separators (spaces, dots, dashes, slashes, brackets) are dropped; ``+212``, ``00212`` and
    a bare ``212`` before nine digits become ``0``; nine digits alone get their ``0``. Another
    number keeps its digits only (a leading ``+`` kept), so two spellings of one foreign or
    short number still match. A text with anything else in it (letters: an identifier
    rather than a number) is kept as written. Empty stays empty.

    Parameters
    ----------
    text : str or None
        The phone as written.
    """
    if text is None:
        return None
    if not _PHONE_TEXT.fullmatch(text) or not any(c.isdigit() for c in text):
        return text.strip() or None
    plus = "+" in text
    digits = _NOT_DIGIT.sub("", text)
    for prefix in ("00" + _COUNTRY, _COUNTRY):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 9:
            return "0" + digits[len(prefix):]
    if len(digits) == 9 and not plus:
        return "0" + digits
    if len(digits) == 10 and digits.startswith("0"):
        return digits
    return ("+" if plus else "") + digits


def normalise_phones(values: pa.Array) -> pa.Array:
    """:func:`normalise_phone` of every value of an Arrow string array (nulls kept).

    Computed once per distinct value: a file has far fewer phones than lines.

    Parameters
    ----------
    values : pyarrow.Array
        Phones as written (strings, nulls for none).
    """
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    fixed = pa.array([normalise_phone(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
    return pc.take(fixed, encoded.indices)
