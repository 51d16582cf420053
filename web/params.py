"""Every query-string and form input of the viewer, declared and checked in one place.

Views never parse ``request.args`` or ``request.form`` themselves: they call
:func:`arg` or :func:`field` with a name of :data:`PARAMS` or :data:`FIELDS`.
A value outside its declared range is refused with a 400 naming the parameter
and what it accepts; identifiers in paths longer than :data:`MAX_ID` are unknown
(404) without touching a store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from flask import request

from casework.cases import STATUSES
from ground.errors import InputRefused, NotFound

__all__ = ["arg", "field", "check_id", "paging", "PARAMS", "FIELDS", "MAX_ID", "Whole", "Number", "Choice", "Text", "Day"]

#: Longest ring, run or entity id a path may carry; ids are far shorter, so a longer one cannot exist.
MAX_ID = 200


@dataclass(frozen=True)
class Whole:
    """A whole number in [lo, hi]."""

    lo: int
    hi: int

    def parse(self, text: str) -> int:
        """The whole number ``text`` says; ValueError naming the range otherwise.

        Parameters
        ----------
        text : str
            The request's value.
        """
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not self.lo <= value <= self.hi:
            raise ValueError(f"a whole number from {self.lo} to {self.hi}")
        return value


@dataclass(frozen=True)
class Number:
    """A finite number in [lo, hi]."""

    lo: float
    hi: float

    def parse(self, text: str) -> float:
        """The finite number ``text`` says; ValueError naming the range otherwise.

        Parameters
        ----------
        text : str
            The request's value.
        """
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and self.lo <= value <= self.hi):
            raise ValueError(f"a number from {self.lo:g} to {self.hi:g}")
        return value


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of words."""

    values: tuple[str, ...]

    def parse(self, text: str) -> str:
        """``text`` when it is one of the values; ValueError naming them otherwise.

        Parameters
        ----------
        text : str
            The request's value.
        """
        if text not in self.values:
            raise ValueError(f"one of {', '.join(self.values)}")
        return text


@dataclass(frozen=True)
class Text:
    """Free text of ``min_len`` to ``max_len`` characters (surrounding spaces removed); empty too when ``blank``."""

    max_len: int
    min_len: int = 0
    blank: bool = False

    def parse(self, text: str) -> str:
        """``text`` without surrounding spaces; ValueError when its length is out of bounds.

        Parameters
        ----------
        text : str
            The request's value.
        """
        text = text.strip()
        if not (self.min_len <= len(text) <= self.max_len or (self.blank and not text)):
            raise ValueError(self.accepts)
        return text

    @property
    def accepts(self) -> str:
        """What the value may be, as the 400's message and docs/web.md say it."""
        return f"{self.min_len} to {self.max_len} characters"


@dataclass(frozen=True)
class Day:
    """A calendar day, YYYY-MM-DD."""

    def parse(self, text: str) -> str:
        """``text`` as ``YYYY-MM-DD``; ValueError when it is not a date.

        Parameters
        ----------
        text : str
            The request's value.
        """
        try:
            if len(text) > 10:
                raise ValueError
            return pd.Timestamp(text).strftime("%Y-%m-%d")
        except (ValueError, TypeError):
            raise ValueError("a date YYYY-MM-DD") from None


Spec = Whole | Number | Choice | Text | Day

#: Query-string parameters: name -> (key in the query string, spec). Two names may share a key
#: when one page's meaning differs from another's (``limit`` of a search and of a neighbourhood).
PARAMS: dict[str, tuple[str, Spec]] = {
    "page": ("page", Whole(1, 100_000)),
    "cpage": ("cpage", Whole(1, 100_000)),
    "size": ("size", Whole(1, 500)),
    "hops": ("hops", Whole(1, 3)),
    "limit": ("limit", Whole(1, 2000)),
    "search_limit": ("limit", Whole(1, 100)),
    "min_score": ("min_score", Number(-1e9, 1e9)),
    "status": ("status", Choice((*STATUSES, "none"))),
    "region": ("region", Text(16)),
    "regime": ("regime", Text(32)),
    "scenario": ("scenario", Text(64)),
    "run": ("run", Text(MAX_ID)),
    "q": ("q", Text(100, min_len=2, blank=True)),  # blank: the search page without a search
    "from": ("from", Day()),
    "to": ("to", Day()),
    "actor": ("actor", Text(64)),
    "action": ("action", Text(64)),
    "next": ("next", Text(2000)),
}

#: Form fields (POST): name -> spec.
FIELDS: dict[str, Spec] = {
    "status": Choice(STATUSES),
    "assignee": Text(64),
    "disposition": Text(4000),
    "body": Text(10_000, min_len=1),
    "run": Text(MAX_ID),
    "name": Text(64),
    "role": Text(32),
    "password": Text(1024),
    "next": Text(2000),
}


def arg(name: str, default: Any = None) -> Any:
    """The query-string parameter ``name`` of :data:`PARAMS`, checked; ``default`` when absent or empty.

    Parameters
    ----------
    name : str
        A key of :data:`PARAMS`.
    default : object

    Raises
    ------
    InputRefused
        The value is outside what the parameter accepts (the message says what it accepts).
    """
    key, spec = PARAMS[name]
    return _read(key, spec, request.args.get(key), default)


def field(name: str, default: Any = None) -> Any:
    """The form field ``name`` of :data:`FIELDS`, checked like :func:`arg`.

    Parameters
    ----------
    name : str
        A key of :data:`FIELDS`.
    default : object
    """
    return _read(name, FIELDS[name], request.form.get(name), default)


def check_id(what: str, value: str) -> str:
    """``value`` when it can be a stored id; NotFound (without asking a store) when it is too long.

    Parameters
    ----------
    what : str
        What the id names (``ring``, ``case``...), for the message.
    value : str
    """
    if len(value) > MAX_ID:
        raise NotFound(f"{what} not found (ids are at most {MAX_ID} characters)")
    return value


def paging(total: int, page: int, size: int) -> dict[str, int]:
    """``{page, pages, total, size, offset}`` of a list of ``total`` rows; a page past the last is the last.

    Parameters
    ----------
    total : int
        Rows in the whole list.
    page : int
        The page asked for, 1-based (checked by :func:`arg`).
    size : int
        Rows per page.
    """
    pages = max(1, -(-int(total) // int(size)))
    page = min(int(page), pages)
    return {"page": page, "pages": pages, "total": int(total), "size": int(size), "offset": (page - 1) * int(size)}


def _read(key: str, spec: Spec, raw: str | None, default: Any) -> Any:
    if raw is None or (raw.strip() == "" and not isinstance(spec, Text)):
        return default
    try:
        return spec.parse(raw)
    except ValueError as exc:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InputRefused(f"{key} {shown!r}: expected {exc}") from None
