"""An exclusive lock on a file that a crashed holder cannot leave behind.

``fcntl.flock`` locks belong to the open file: the kernel releases them when the
holding process dies, however it dies, so a stale lock file never blocks the
next run. The file keeps the holder's pid and start time only to say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from ground.errors import Locked
from ground.files import PRIVATE_FILE, private_dir

__all__ = ["RunLock"]


class RunLock:
    """Context manager holding ``path`` exclusively, or raising :class:`Locked` at once."""

    def __init__(self, path: str | Path, what: str = "a weekly run"):
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            os.close(fd)
            try:
                info = json.loads(holder)
                who = f"pid {info['pid']}, started {info['started']}"
            except (ValueError, KeyError, TypeError):
                who = "another process"
            raise Locked(f"{self.what} is already in progress ({who}); lock file {self.path}") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(),
                                 "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
