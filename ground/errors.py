"""The one exception hierarchy of Shabaka.

Every package raises these; the command line (``shabaka.cli``) and the viewer
(``web``) each map them to an exit code or an HTTP status in one place.
This module imports nothing from the project, so any package may use it.
"""

__all__ = [
    "ShabakaError",
    "InputRefused",
    "ConfigError",
    "StoreError",
    "NotFound",
    "Locked",
    "AccessDenied",
]


class ShabakaError(Exception):
    """Root of every error Shabaka raises on purpose."""

    exit_code = 1


class InputRefused(ShabakaError):
    """An input file or argument cannot be read as the contract; nothing was written.

    The message names the file, the column or line, and what was expected.
    """

    exit_code = 2


class ConfigError(ShabakaError):
    """A setting or a configuration file is invalid."""

    exit_code = 2


class StoreError(ShabakaError):
    """A store (Parquet batches, SQLite, Neo4j) failed or is inconsistent."""

    exit_code = 1


class NotFound(ShabakaError):
    """A ring, entity, run or file asked for does not exist."""

    exit_code = 2


class Locked(ShabakaError):
    """Another process holds the lock (for example a weekly run in progress)."""

    exit_code = 1


class AccessDenied(ShabakaError):
    """The user's role does not allow this action."""

    exit_code = 2
