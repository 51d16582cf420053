"""The byte-level checks of a CSV file: UTF-8 text, and how long its longest line is.

:func:`ingest.read.scan_csv` makes them on the whole file before anything is loaded.
Decompressing a national window's file for that scan and again for the parser cost a
tenth of its ingest, so the first file an ingest loads is checked *as it is read*
instead (:class:`CheckedBytes`, one decompression feeding both the checks and Arrow's
parser): its blocks reach the parser only once checked. When a block holds what the
whole-file scan must judge (a byte that is not UTF-8, a line longer than
:data:`LONG_LINE`, a damaged gzip stream), :class:`RescanNeeded` is raised: the load
stops, removes what it staged, and the file is scanned whole and loaded as before (so
the refusal names the same line, and a long-lined file is read with the csv module).
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from ground.errors import InputRefused

__all__ = ["LONG_LINE", "READ_BLOCK", "RescanNeeded", "CheckedBytes", "open_bytes", "is_gz", "first_break",
           "count_lines", "longest_line", "open_line"]

#: Bytes read at a time.
READ_BLOCK = 1 << 20
#: Files with a line longer than this are read by the csv module (Arrow needs a row within a block).
LONG_LINE = 1 << 16


class RescanNeeded(InputRefused):
    """A file checked while it was read needs the whole-file scan (the load that raised it wrote nothing).

    Caught by :meth:`ingest.store.ClaimsStore.ingest`, which scans the file whole and loads it
    again; the scan then refuses it with the line at fault or picks the reader its lines need.
    """


class CheckedBytes(io.RawIOBase):
    """A CSV file's bytes (gunzipped when ``.gz``), checked block by block as they are read.

    Each block returned is valid UTF-8 so far (a character cut by the block's end is
    finished by the next) and holds no line longer than :data:`LONG_LINE`; otherwise
    :class:`RescanNeeded` is raised before the block is handed on. An ASCII block costs one
    ``isascii`` pass and a few ``rfind`` calls.

    Parameters
    ----------
    path : Path
        The CSV file (plain or gzip).
    """

    def __init__(self, path: Path):
        super().__init__()
        self.name = path.name
        self._raw = open(path, "rb")
        self._inner = gzip.GzipFile(fileobj=self._raw, mode="rb") if is_gz(path) else self._raw
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._partial = False  # the decoder holds the first bytes of a character
        self._open = 0  # length of the line still open at the end of the last block

    def readable(self) -> bool:
        return True

    def position(self) -> int:
        """Bytes of the file (compressed, when gzip) consumed so far."""
        return self._raw.tell()

    def read(self, size: int = -1) -> bytes:
        """The next block of at most ``size`` bytes, checked (empty at the end).

        Parameters
        ----------
        size : int
            Most bytes returned; -1 for :data:`READ_BLOCK`.
        """
        try:
            block = self._inner.read(size if size and size > 0 else READ_BLOCK)
        except (OSError, EOFError, zlib.error):
            raise RescanNeeded(f"{self.name}: the gzip stream is damaged; scanning the file whole") from None
        if not block:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise RescanNeeded(f"{self.name}: ends inside a UTF-8 character; scanning the file whole") from None
            return block
        if self._partial or not block.isascii():
            try:
                self._decoder.decode(block)
            except UnicodeDecodeError:
                raise RescanNeeded(f"{self.name}: a byte that is not UTF-8; scanning the file whole") from None
            self._partial = bool(self._decoder.getstate()[0])
        self._open = open_line(block, self._open)
        if self._open < 0:
            raise RescanNeeded(f"{self.name}: a line longer than {LONG_LINE} bytes; scanning the file whole")
        return block

    def close(self) -> None:
        """Close the file."""
        if not self.closed:
            try:
                if self._inner is not self._raw:
                    self._inner.close()
            finally:
                self._raw.close()
        super().close()


def open_line(block: bytes, run: int) -> int:
    """Length of the line still open after ``block`` (``run`` bytes of it were before); -1 when a
    line ending in or running through ``block`` is longer than :data:`LONG_LINE`.

    Exact, like :func:`longest_line`: without a carriage return, each step jumps to the last
    line break within :data:`LONG_LINE` + 1 bytes of the previous one, so a block of short
    lines costs a few short backward searches instead of a pass over every byte.

    Parameters
    ----------
    block : bytes
    run : int
        Length of the line open before ``block``.
    """
    if b"\r" in block:
        longest, tail = longest_line(block, 0, run)
        return -1 if max(longest, tail) > LONG_LINE else tail
    first = block.find(b"\n")
    if first < 0:
        run += len(block)
        return -1 if run > LONG_LINE else run
    if run + first > LONG_LINE:
        return -1
    last = block.rfind(b"\n")
    at = first
    while at < last:
        # a line after ``at`` fits when the next break is within LONG_LINE + 1 bytes
        at = block.rfind(b"\n", at + 1, at + LONG_LINE + 2)
        if at < 0:
            return -1
    tail = len(block) - last - 1
    return -1 if tail > LONG_LINE else tail


def first_break(data: bytes) -> int:
    """Index of the first line break (LF or CR) in ``data``, or -1.

    Parameters
    ----------
    data : bytes
    """
    found = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    return min(found) if found else -1


def count_lines(data: bytes) -> int:
    """Line breaks in ``data``: LF, CRLF and lone CR each count once.

    Parameters
    ----------
    data : bytes
    """
    if b"\r" not in data:
        return data.count(b"\n")
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def longest_line(block: bytes, longest: int, run: int) -> tuple[int, int]:
    """Update (longest line so far, length of the line still open) with one more block.

    Parameters
    ----------
    block : bytes
    longest : int
        Longest complete line so far.
    run : int
        Length of the line open before ``block``.
    """
    arr = np.frombuffer(block, dtype=np.uint8)
    breaks = np.flatnonzero((arr == 10) | (arr == 13))
    if not len(breaks):
        return longest, run + len(block)
    gaps = np.diff(breaks)
    inner = int(gaps.max()) - 1 if len(gaps) else 0
    return max(longest, run + int(breaks[0]), inner), len(block) - int(breaks[-1]) - 1


def is_gz(path: Path) -> bool:
    """Whether the file's name says gzip.

    Parameters
    ----------
    path : Path
    """
    return path.name.lower().endswith(".gz")


def open_bytes(path: Path):
    """The file's bytes, gunzipped when its name ends in ``.gz``.

    Parameters
    ----------
    path : Path
    """
    return gzip.open(path, "rb") if is_gz(path) else open(path, "rb")
