"""The ring pages written by a second process while the run does its other writes.

A weekly run writes the graph store, the findings folder and the ring pages, all
from the same window and findings, then stores the run. The ring pages are the
longest of these and need nothing the others write, so on a machine with two
cores or more :class:`PagesAside` writes them in forked copies of the process
(which share the window's memory until either side changes it), two by default,
each a share of the rings, while the caller goes on; :meth:`PagesAside.join`
waits for them and merges their files before the run is stored, so a stored run
still always has its pages. The pages are the ones
:func:`casework.ringpages.write_ring_pages` writes in the process itself (the same
function), and a worker that fails makes :meth:`PagesAside.join` raise.

A worker dies with the process that started it (``PR_SET_PDEATHSIG``): a run
killed half-way leaves at most temporary files, which the next writer removes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from typing import Any

from casework.ringpages import merge_ring_pages, pages_path, write_ring_pages
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
    workers : int
        Worker processes; with more than one, each writes a share of the rings
        (``share`` of :func:`casework.ringpages.write_ring_pages`) and :meth:`join`
        merges their files (:func:`casework.ringpages.merge_ring_pages`).
    **kwargs
        :func:`casework.ringpages.write_ring_pages`'s keyword arguments.
    """

    def __init__(self, home: str | Path, run_id: str, *, workers: int = 2, **kwargs: Any):
        self.home, self.run_id, self.kwargs = home, run_id, kwargs
        context = multiprocessing.get_context("fork")
        self._workers = []
        for k in range(max(1, workers)):
            receive, send = context.Pipe(duplex=False)
            share = (k, workers) if workers > 1 else None
            process = context.Process(target=_write, args=(os.getpid(), send, home, run_id, {**kwargs, "share": share}),
                                      name=f"ring pages {run_id} {k}", daemon=True)
            process.start()
            send.close()
            self._workers.append((process, receive))

    def join(self) -> Path:
        """Wait for the workers; the run's pages file (the shares merged when there are several).

        Raises
        ------
        StoreError
            A worker failed (its error's type and message are given) or died; nothing is left.
        """
        written, failed = [], None
        for process, receive in self._workers:
            try:
                said = receive.recv()
            except EOFError:  # the worker died without a word
                said = None
            process.join()
            receive.close()
            if process.exitcode == 0 and said and said[0] == "ok":
                written.append(Path(said[1]))
            elif failed is None:
                failed = said[1] if said and said[0] == "error" else f"a worker ended with code {process.exitcode}"
        if failed is not None:
            for part in written:
                part.unlink(missing_ok=True)
            raise StoreError(f"writing the ring pages of run {self.run_id} failed: {failed}")
        if len(self._workers) == 1:
            return pages_path(self.home, self.run_id)
        return merge_ring_pages(self.home, self.run_id, written, kind=self.kwargs["kind"], rings=self.kwargs["rings"])

    def cancel(self) -> None:
        """Stop the workers (the caller failed); what they leave are temporary files the next writer removes."""
        for process, receive in self._workers:
            if process.is_alive():
                process.kill()
            process.join()
            receive.close()


def _write(parent: int, send: Any, home: str | Path, run_id: str, kwargs: dict[str, Any]) -> None:
    """A worker: die with the parent, write the pages (or its share of them), say how it went."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # without it, a killed run's worker finishes its file, which the next run writes again
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the line above took effect
    try:
        written = write_ring_pages(home, run_id, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the parent, which raises
        send.send(("error", f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from None
    send.send(("ok", str(written)))
    send.close()
