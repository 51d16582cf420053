"""The ring pages written by a second process while the run does its other writes.

A weekly run writes the graph store, the findings folder and the ring pages, all
from the same window and findings, then stores the run. The ring pages are the
longest of these and need nothing the others write, so on a machine with two
cores or more :class:`PagesAside` writes them in a forked copy of the process
(which shares the window's memory until either side changes it) while the caller
goes on; :meth:`PagesAside.join` waits for it before the run is stored, so a
stored run still always has its pages. The pages are the same as
:func:`casework.ringpages.write_ring_pages` writes in the process itself (it is
the same function), and a worker that fails makes :meth:`PagesAside.join` raise.

The worker dies with the process that started it (``PR_SET_PDEATHSIG``): a run
killed half-way leaves at most a temporary file, which the next writer removes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from typing import Any

from casework.ringpages import pages_path, write_ring_pages
from ground.errors import StoreError

__all__ = ["PagesAside", "can_write_aside"]

_PR_SET_PDEATHSIG = 1


def can_write_aside() -> bool:
    """True where a forked worker can write the pages beside the caller: Linux, two cores or more."""
    return sys.platform.startswith("linux") and (os.cpu_count() or 1) >= 2 \
        and "fork" in multiprocessing.get_all_start_methods()


class PagesAside:
    """:func:`casework.ringpages.write_ring_pages` in a forked worker process; :meth:`join` for its result.

    Parameters
    ----------
    home : path
    run_id : str
    **kwargs
        :func:`casework.ringpages.write_ring_pages`'s keyword arguments.
    """

    def __init__(self, home: str | Path, run_id: str, **kwargs: Any):
        self.home, self.run_id = home, run_id
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_write, args=(os.getpid(), send, home, run_id, kwargs),
                                        name=f"ring pages {run_id}", daemon=True)
        self._process.start()
        send.close()

    def join(self) -> Path:
        """Wait for the worker; the file it wrote.

        Raises
        ------
        StoreError
            The worker failed (its error's type and message are given) or died.
        """
        try:
            said = self._receive.recv()
        except EOFError:  # the worker died without a word
            said = None
        self._process.join()
        self._receive.close()
        if self._process.exitcode != 0 or not said or said[0] != "ok":
            why = said[1] if said and said[0] == "error" else f"the worker ended with code {self._process.exitcode}"
            raise StoreError(f"writing the ring pages of run {self.run_id} failed: {why}")
        return pages_path(self.home, self.run_id)

    def cancel(self) -> None:
        """Stop the worker (the caller failed); what it leaves is a temporary file the next writer removes."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._receive.close()


def _write(parent: int, send: Any, home: str | Path, run_id: str, kwargs: dict[str, Any]) -> None:
    """The worker: die with the parent, write the pages, say how it went."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # without it, a killed run's worker finishes its file, which the next run writes again
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the line above took effect
    try:
        write_ring_pages(home, run_id, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the parent, which raises
        send.send(("error", f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from None
    send.send(("ok", None))
    send.close()
