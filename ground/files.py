"""State files readable by their owner only, whatever the umask.

HOME holds password hashes, the audit log, the pseudonym map and claims with
personal data: every file Shabaka creates there is created 0600 (folders 0700).
The mode is given when the file is created and set again with ``fchmod``, because
a umask may only remove bits and a permissive one must not widen them either.
Like the rest of :mod:`ground`, this module imports nothing of the project.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import IO

from ground.errors import ConfigError

__all__ = ["PRIVATE_FILE", "PRIVATE_DIR", "create_private", "open_private", "private_dir", "make_private", "secret_key", "sync"]

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def create_private(path: str | Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists (then leave it as it is).

    For files another library opens by name afterwards (SQLite, Parquet writers):
    opening an existing file for writing keeps its mode.

    Parameters
    ----------
    path
        The file to create.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def open_private(path: str | Path, mode: str = "w", **kwargs) -> IO:
    """``open(path, mode)`` for writing (``w``, ``wb``, ``a``, ``ab``), the file created or truncated as 0600.

    Parameters
    ----------
    path
        The file to write.
    mode
        ``w``, ``wb``, ``a`` or ``ab``.
    **kwargs
        Passed to :func:`open` (encoding, newline...).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def private_dir(path: str | Path) -> Path:
    """Make folder ``path`` (and missing parents); the ones created here are 0700.

    Parameters
    ----------
    path
        The folder to make.
    """
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(folder, PRIVATE_DIR)
    return path


def make_private(folder: str | Path) -> None:
    """Set every file under ``folder`` to 0600 and every folder to 0700 (a folder about to be published).

    Parameters
    ----------
    folder
        The folder whose tree is made private.
    """
    for root, dirs, files in os.walk(folder):
        os.chmod(root, PRIVATE_DIR)
        for name in files:
            os.chmod(os.path.join(root, name), PRIVATE_FILE)


def secret_key(path: str | Path, what: str) -> bytes:
    """The key kept in file ``path``, created with 32 random bytes (hex) and mode 0600 the first time.

    Parameters
    ----------
    path : str or Path
        The key file.
    what : str
        What the key is for, named in errors (e.g. ``"audit key"``).

    Raises
    ------
    ConfigError
        The key file is empty or readable by others than its owner.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path}: {what} must be readable by its owner only (chmod 600)")
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ConfigError(f"{path}: {what} file is empty")
    return key.encode("ascii")


def sync(path: str | Path) -> None:
    """Flush a file, or a folder's entries (a rename into it), to the disk.

    Parameters
    ----------
    path : path
        A file or a folder.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
