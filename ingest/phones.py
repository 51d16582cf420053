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

    Values already in the national form (``0`` and nine ASCII digits: most) are kept
    as they are; the others are rewritten once per distinct value, with Arrow kernels
    when written in ASCII digits and separators, else by :func:`normalise_phone`.

    Parameters
    ----------
    values : pyarrow.Array
        Phones as written (strings, nulls for none).
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    national = pc.fill_null(pc.and_(pc.equal(pc.binary_length(values), 10),
                                    pc.and_(pc.starts_with(values, "0"), pc.ascii_is_decimal(values))), True)
    if pc.all(national).as_py() is not False:
        return values
    other = pc.invert(national)
    encoded = pc.dictionary_encode(pc.filter(values, other))
    return pc.replace_with_mask(values, other, pc.take(_normalise_distinct(encoded.dictionary), encoded.indices))


def _normalise_distinct(values: pa.Array) -> pa.Array:
    """:func:`normalise_phone` of each value (no nulls): Arrow kernels for ASCII phone texts."""
    fast = pc.and_(pc.string_is_ascii(values), pc.and_(pc.match_substring_regex(values, _ASCII_PHONE_TEXT),
                                                       pc.match_substring_regex(values, "[0-9]")))
    out = _normalise_ascii(values)
    if pc.all(fast).as_py() is not False:
        return out
    slow = pc.invert(fast)
    fixed = pa.array([normalise_phone(v) for v in pc.filter(values, slow).to_pylist()], type=pa.string())
    return pc.replace_with_mask(out, slow, fixed)


# ``_PHONE_TEXT`` for ASCII text: Python's \s there is also \x0b, \x0c and \x1c-\x1f.
_ASCII_PHONE_TEXT = "^[0-9 \t\n\r\x0b\x0c\x1c-\x1f./()+-]+$"


def _normalise_ascii(values: pa.Array) -> pa.Array:
    """:func:`normalise_phone` for values of ASCII digits and separators, with Arrow kernels."""
    plus = pc.match_substring(values, "+")
    digits = pc.replace_substring_regex(values, "[^0-9]", "")
    length = pc.binary_length(digits)
    national = "0"

    def prefixed(text: pa.Array, head: str) -> pa.Array:
        return pc.binary_join_element_wise(head, text, "")

    country = pc.and_(pc.starts_with(digits, "00" + _COUNTRY), pc.equal(length, 9 + len(_COUNTRY) + 2))
    bare_country = pc.and_(pc.starts_with(digits, _COUNTRY), pc.equal(length, 9 + len(_COUNTRY)))
    nine = pc.and_(pc.equal(length, 9), pc.invert(plus))
    ten = pc.and_(pc.equal(length, 10), pc.starts_with(digits, national))
    other = pc.if_else(plus, prefixed(digits, "+"), digits)
    return pc.case_when(
        pc.make_struct(country, bare_country, nine, ten),
        prefixed(pc.utf8_slice_codeunits(digits, 2 + len(_COUNTRY)), national),
        prefixed(pc.utf8_slice_codeunits(digits, len(_COUNTRY)), national),
        prefixed(digits, national),
        digits,
        other,
    )
