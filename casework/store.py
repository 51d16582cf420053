"""The base of the casework stores, all kept in ``HOME/shabaka.sqlite``."""

from __future__ import annotations

from pathlib import Path

from ground.sqlite import DB_NAME, connect

__all__ = ["HomeStore"]


class HomeStore:
    """Base of the stores kept in ``HOME/shabaka.sqlite``: opens it, creates the subclass's
    tables (``SCHEMA``, idempotent DDL), closes; usable as a context manager.

    Parameters
    ----------
    home : path
        ``SHABAKA_HOME``.
    """

    SCHEMA = ""

    def __init__(self, home: str | Path):
        self.path = Path(home) / DB_NAME
        self.conn = connect(self.path)
        self.conn.executescript(self.SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
