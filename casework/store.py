"""The base of the casework stores, all kept in ``HOME/shabaka.sqlite``, and :class:`Casework`,
one connection those stores share.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypeVar

from ground.sqlite import DB_NAME, connect

__all__ = ["HomeStore", "Casework"]

S = TypeVar("S", bound="HomeStore")


class HomeStore:
    """Base of the stores kept in ``HOME/shabaka.sqlite``: opens it, creates the subclass's
    tables (``SCHEMA``, idempotent DDL), closes; usable as a context manager. A subclass sets
    ``SCHEMA`` and does what it needs on opening in ``_opened``.

    Parameters
    ----------
    home : path
        ``SHABAKA_HOME``.
    conn : sqlite3.Connection, optional
        An open connection to ``HOME/shabaka.sqlite`` to use instead of opening one (see
        :class:`Casework`); the store then leaves it open when closed.
    """

    SCHEMA = ""

    def __init__(self, home: str | Path, *, conn: sqlite3.Connection | None = None):
        self.home = Path(home)
        self.path = self.home / DB_NAME
        self._owns_conn = conn is None
        self.conn = connect(self.path) if conn is None else conn
        self.conn.executescript(self.SCHEMA)
        self._opened()

    def _opened(self) -> None:
        """Called once the tables exist: what a store does on opening (migrations, keys); nothing here."""

    def close(self) -> None:
        """Close the connection, unless it was lent by a :class:`Casework`."""
        if self._owns_conn:
            self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Casework:
    """One connection to ``HOME/shabaka.sqlite``, lent to every casework store opened through it.

    The viewer opens one per request, so a page reading runs, cases, users and the
    audit log opens the file once and creates each store's tables at most once.

    Parameters
    ----------
    home : path
        ``SHABAKA_HOME``.
    """

    def __init__(self, home: str | Path):
        self.home = Path(home)
        self.conn = connect(self.home / DB_NAME)
        self._stores: dict[type, HomeStore] = {}

    def store(self, kind: type[S]) -> S:
        """The store of class ``kind`` (``RunStore``, ``CaseStore``...) on this connection, opened once.

        Parameters
        ----------
        kind : type
            A :class:`HomeStore` subclass.
        """
        if kind not in self._stores:
            self._stores[kind] = kind(self.home, conn=self.conn)
        return self._stores[kind]  # type: ignore[return-value]

    def close(self) -> None:
        """Close the connection (the stores opened through it with it)."""
        self._stores.clear()
        self.conn.close()

    def __enter__(self) -> Casework:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
