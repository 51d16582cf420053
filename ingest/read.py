"""Reading claim files per the claims contract, as strings, in bounded chunks.

A file is first *prepared* (:func:`open_source`): its SHA-256 is taken, CSV text is
checked to be UTF-8 with a header holding every required column, Parquet is checked
to be Parquet with those columns. Anything else raises :class:`InputRefused` before a
single row is written. With ``defer_scan`` (the first file an ingest loads), a large CSV's
header is checked from its first block and its UTF-8 and line lengths as it is read
(:mod:`ingest.textscan`): one decompression instead of two, and a file that fails those
checks part-way raises :class:`RescanNeeded` before its rows are written anywhere. Then :meth:`Source.chunks` streams the rows as all-string Arrow
tables (so no value is lost before validation) with the line each row came from.

Line numbers: in a CSV the header is line 1 and each data row carries its physical
line (exact unless a quoted value itself holds a line break, which shifts later
lines by the breaks it holds). Blank lines are skipped and not counted as rows read.
In Parquet the first row is line 1.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingest.schema import REQUIRED_CLAIM_COLUMNS
from ingest.textscan import (
    LONG_LINE, READ_BLOCK, CheckedBytes, RescanNeeded, count_lines, first_break, is_gz, longest_line, open_bytes,
)
from ground.errors import InputRefused

__all__ = ["RawChunk", "Source", "RescanNeeded", "DEFER_SCAN_BYTES", "open_source", "file_sha256", "csv_header", "scan_csv",
           "iter_csv_tables", "iter_csv_python"]

#: Largest CSV block parsed at once (a row must fit in one); Arrow holds up to 32 read ahead.
#: 1 MiB: four times fewer batches than 256 KiB for the same rows (a third less CPU reading a national week).
_MAX_BLOCK = 1 << 20
#: Largest field :func:`iter_csv_python` reads; beyond it the file is refused.
_CSV_FIELD_CEILING = 1 << 30
#: Characters of an unsplittable row's text kept in its quarantine entry.
_BAD_TEXT_CHARS = 2000
#: Smallest file (bytes on disk) whose scan :func:`open_source` may leave to the reading:
#: below it the whole-file scan costs next to nothing.
DEFER_SCAN_BYTES = 1 << 20


@dataclass
class RawChunk:
    """Rows of one chunk as read: every value a string, empty when absent.

    ``frame`` is an Arrow table from contract files, a DataFrame from adapters. ``lines`` gives each row's line in its file; ``bad_rows`` are rows that could
    not be split into the header's columns, as ``(line, text, message)``.
    ``original`` holds the values as they were in the file when ``frame`` was
    derived from them (an adapter); the quarantine keeps those.
    """

    frame: pa.Table | pd.DataFrame
    lines: np.ndarray
    bad_rows: list[tuple[int | None, str, str]] = field(default_factory=list)
    original: pa.Table | pd.DataFrame | None = None


@dataclass
class Source:
    """One prepared input file: its name, SHA-256, format and a chunk reader."""

    name: str
    path: Path
    sha256: str
    source_format: str
    size: int
    read_chunks: Callable[[int, Callable[[int], None] | None], Iterator[RawChunk]]

    def chunks(self, chunk_rows: int, on_progress: Callable[[int], None] | None = None) -> Iterator[RawChunk]:
        """Stream the file in chunks of at most ``chunk_rows`` rows, each as a DataFrame.

        ``on_progress`` is called after each chunk with the bytes (CSV) or rows
        (Parquet) consumed so far, out of ``size``.

        Parameters
        ----------
        chunk_rows : int
        on_progress : callable, optional
        """
        for chunk in self.read_chunks(chunk_rows, on_progress):
            if isinstance(chunk.frame, pa.Table):
                chunk.frame = chunk.frame.to_pandas()
            yield chunk

    def raw_chunks(self, chunk_rows: int, on_progress: Callable[[int], None] | None = None) -> Iterator[RawChunk]:
        """As :meth:`chunks`, leaving each chunk's rows as the reader made them (Arrow for contract files).

        Parameters
        ----------
        chunk_rows : int
        on_progress : callable, optional
        """
        return self.read_chunks(chunk_rows, on_progress)


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks.

    Parameters
    ----------
    path : path
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def open_source(path: str | Path, required: tuple[str, ...] = REQUIRED_CLAIM_COLUMNS, *,
                defer_scan: bool = False) -> Source:
    """Prepare a contract file (``.csv``, ``.csv.gz`` or ``.parquet``) for reading.

    Parameters
    ----------
    path : path
        The file.
    required : tuple of str
        Columns the header must hold.
    defer_scan : bool
        For a CSV of at least :data:`DEFER_SCAN_BYTES`: check the header from the first
        block only, and the UTF-8 and line lengths while the rows are read; the reader
        then raises :class:`RescanNeeded` (nothing of the file written) when the file must
        be scanned whole (see :mod:`ingest.textscan`). Only for a file loaded before any
        other of its command is written.

    Returns
    -------
    Source

    Raises
    ------
    InputRefused
        The file is missing, empty, not UTF-8 CSV or Parquet, or lacks a required
        column; the message names the file, the line or column, and what was expected.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputRefused(f"{path}: no such file; expected a claims file (.csv, .csv.gz or .parquet)")
    lower = name.lower()
    if lower.endswith(".parquet"):
        return _open_parquet(path, required)
    if lower.endswith(".csv") or lower.endswith(".csv.gz"):
        header = _head_header(path, required) if defer_scan else None
        if header is not None:
            return Source(name, path, file_sha256(path), "contract", path.stat().st_size,
                          lambda rows, cb: iter_csv_tables(path, header, rows, cb, checked=True))
        header, longest = scan_csv(path, required)
        # Arrow parses a row only within one block; a file with a line longer than a block
        # (a huge field) is read by the csv module instead, so that row is quarantined, not the file refused.
        reader = iter_csv_tables if longest <= LONG_LINE else iter_csv_python
        return Source(
            name, path, file_sha256(path), "contract", path.stat().st_size,
            lambda rows, cb: reader(path, header, rows, cb),
        )
    raise InputRefused(f"{name}: not a claims file; expected a name ending in .csv, .csv.gz or .parquet")


def csv_header(path: Path, required: tuple[str, ...]) -> list[str]:
    """Check a CSV is UTF-8 text with the required columns; return its column names.

    The whole file is decoded once (in blocks) so an encoding error is reported
    with its line before anything is loaded.

    Parameters
    ----------
    path : Path
    required : tuple of str
        Columns the file must have.
    """
    return scan_csv(path, required)[0]


def scan_csv(path: Path, required: tuple[str, ...]) -> tuple[list[str], int]:
    """As :func:`csv_header`, also returning the length in bytes of the file's longest line.

    Lines end with LF, CRLF or a lone CR (old Mac files): all three are read alike.

    Parameters
    ----------
    path
        The CSV file (plain or gzip).
    required
        Columns the header must hold.
    """
    name = path.name
    if path.stat().st_size == 0:
        raise InputRefused(f"{name}: empty file; expected a header row naming the claim columns")
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    head = b""
    has_data = False
    longest = run = 0
    try:
        with open_bytes(path) as handle:
            for block in iter(lambda: handle.read(READ_BLOCK), b""):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    bad_line = line + count_lines(block[: exc.start])
                    raise InputRefused(
                        f"{name}: line {bad_line}: not UTF-8 text (byte 0x{block[exc.start]:02x}); "
                        "expected a UTF-8 encoded CSV"
                    ) from None
                if first_break(head) < 0:
                    head += block
                    cut = first_break(head)
                    if cut >= 0:
                        has_data = bool(head[cut:].strip())
                elif not has_data:
                    has_data = bool(block.strip())
                longest, run = longest_line(block, longest, run)
                line += count_lines(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InputRefused(f"{name}: line {line}: ends inside a UTF-8 character; expected UTF-8 text") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputRefused(f"{name}: cannot be read as {'gzip-compressed ' if is_gz(path) else ''}CSV ({exc}); "
                           f"expected {'a complete gzip file of ' if is_gz(path) else ''}UTF-8 CSV text") from None
    header = _header_of(name, head, required)
    if not has_data:
        raise InputRefused(f"{name}: no data rows after the header; expected at least one claim line")
    return header, max(longest, run)


def _header_of(name: str, head: bytes, required: tuple[str, ...]) -> list[str]:
    """The column names of the first line of ``head`` (the file's first bytes), checked."""
    cut = first_break(head)
    first = (head if cut < 0 else head[:cut]).decode("utf-8", errors="replace")
    if "\x00" in first:
        raise InputRefused(f"{name}: line 1: binary data; expected a CSV header row")
    try:
        rows = list(csv.reader([first.lstrip("\ufeff")]))
    except csv.Error as exc:
        raise InputRefused(f"{name}: line 1: header cannot be read as CSV ({exc}); "
                           "expected comma-separated column names") from None
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if not any(header):
        raise InputRefused(f"{name}: line 1: empty header; expected a header row naming the claim columns")
    seen = set()
    for col in header:
        if col in seen:
            raise InputRefused(f"{name}: line 1: column {col!r} appears twice; expected each column once")
        seen.add(col)
    missing = [c for c in required if c not in seen]
    if missing:
        raise InputRefused(
            f"{name}: line 1: missing required column(s) {', '.join(missing)}; "
            f"expected a comma-separated header with {', '.join(required)}"
        )
    return header


def _head_header(path: Path, required: tuple[str, ...]) -> list[str] | None:
    """The header, when the file's first block settles what :func:`scan_csv` checks before the rows
    (large enough, a data row after the header, UTF-8 so far, no long line so far); else None."""
    if path.stat().st_size < DEFER_SCAN_BYTES:
        return None
    try:
        with open_bytes(path) as handle:
            head = handle.read(READ_BLOCK)
        codecs.getincrementaldecoder("utf-8")().decode(head)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None
    cut = first_break(head)
    longest, run = longest_line(head, 0, 0)
    if cut < 0 or not head[cut:].strip() or max(longest, run) > LONG_LINE:
        return None
    return _header_of(path.name, head, required)


def iter_csv_python(
    path: Path, header: list[str], chunk_rows: int, on_progress: Callable[[int], None] | None = None
) -> Iterator[RawChunk]:
    """As :func:`iter_csv_tables`, with Python's csv module: slower, but no limit on a line's length.

    Used for files holding a line longer than Arrow's block (see :func:`open_source`);
    a field of any size up to :data:`_CSV_FIELD_CEILING` characters is read, and then
    quarantined by validation's size limit.

    Parameters
    ----------
    path
        The CSV file (plain or gzip).
    header
        Its header, as :func:`scan_csv` read it.
    chunk_rows
        Rows per chunk.
    on_progress
        Called with the bytes read so far, when given.
    """
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_CEILING))
    width = len(header)
    columns: list[list[str]] = [[] for _ in header]
    lines: list[int] = []
    bad: list[tuple[int | None, str, str]] = []
    with open_bytes(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        line = 1
        try:
            next(reader)
            line = reader.line_num + 1
            for row in reader:
                start, line = line, reader.line_num + 1
                if not row or (len(row) == 1 and not row[0]):
                    continue  # a blank line
                if len(row) != width:
                    bad.append((start, ",".join(row)[:_BAD_TEXT_CHARS],
                                f"row has {len(row)} field(s); expected {width} as in the header"))
                    continue
                for values, value in zip(columns, row):
                    values.append(value)
                lines.append(start)
                if len(lines) == chunk_rows:
                    yield RawChunk(_string_table(header, columns), np.asarray(lines, dtype=np.int64), bad)
                    columns, lines, bad = [[] for _ in header], [], []
                    if on_progress is not None:
                        on_progress(raw.tell())
        except (csv.Error, OSError, EOFError, zlib.error) as exc:
            raise InputRefused(f"{path.name}: line {line} or after: cannot be parsed as CSV ({exc}); "
                               "expected comma-separated rows, quotes closed") from None
    if lines or bad:
        yield RawChunk(_string_table(header, columns), np.asarray(lines, dtype=np.int64), bad)
    if on_progress is not None:
        on_progress(path.stat().st_size)


def iter_csv_tables(
    path: Path, header: list[str], chunk_rows: int, on_progress: Callable[[int], None] | None = None,
    checked: bool = False,
) -> Iterator[RawChunk]:
    """Stream a CSV whose header was checked by :func:`csv_header` (see module notes).

    Every chunk holds ``chunk_rows`` rows but the last; rows that could not be split
    come with the first chunk yielded after the reader met them.

    Parameters
    ----------
    path : Path
    header : list of str
        From :func:`csv_header`.
    chunk_rows : int
    on_progress : callable, optional
        Called with the bytes read so far.
    checked : bool
        Read the bytes through :class:`ingest.textscan.CheckedBytes`, which makes
        :func:`scan_csv`'s UTF-8 and line-length checks as they are read and raises
        :class:`RescanNeeded` where the file must be scanned whole.
    """
    bad: list[tuple[int | None, str, str]] = []

    def on_invalid(row) -> str:
        bad.append((row.number, row.text[:_BAD_TEXT_CHARS],
                    f"row has {row.actual_columns} field(s); expected {row.expected_columns} as in the header"))
        return "skip"

    # Arrow's CSV reader reads up to 32 blocks ahead of the parser, so the block (not the chunk)
    # bounds memory: small blocks, gathered into chunks of ``chunk_rows`` rows below.
    try:
        average = max(64, path.stat().st_size // max(1, _estimate_lines(path)))
    except (OSError, EOFError, zlib.error) as exc:
        if checked:
            raise RescanNeeded(f"{path.name}: the gzip stream is damaged; scanning the file whole") from None
        raise InputRefused(f"{path.name}: cannot be read ({exc}); expected a complete file") from None
    block = int(min(max(chunk_rows * average * 1.2, 1 << 14), _MAX_BLOCK))
    read_options = pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=block, use_threads=False)
    parse_options = pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=True,
                                       ignore_empty_lines=False)
    convert_options = pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                           strings_can_be_null=False, quoted_strings_can_be_null=False)
    next_line = 2
    held: list[pa.Table] = []
    held_lines: list[np.ndarray] = []
    held_rows = 0
    pending: list[tuple[int | None, str, str]] = []
    raw = CheckedBytes(path) if checked else pa.OSFile(str(path), "rb")
    position = raw.position if checked else raw.tell
    with raw:
        # Unchecked, a native Arrow stream: a Python file object makes the read-ahead allocate Python
        # bytes, which the checked stream's one gunzip (instead of the scan's and Arrow's) more than repays.
        stream = raw if checked or not is_gz(path) else pa.CompressedInputStream(raw, "gzip")
        try:
            reader = pacsv.open_csv(stream, read_options=read_options, parse_options=parse_options,
                                    convert_options=convert_options)
            for batch in reader:
                n = batch.num_rows
                bad_lines = sorted(b[0] for b in bad if b[0] is not None)
                lines = _assign_lines(next_line, n, bad_lines)
                if n:
                    next_line = int(lines[-1]) + 1
                next_line = max([next_line] + [b + 1 for b in bad_lines])
                frame = pa.Table.from_batches([batch])
                blank = _blank_rows(frame)
                if blank.any():
                    frame = frame.filter(pa.array(~blank))
                    lines = lines[~blank]
                pending += bad
                bad[:] = []
                held.append(frame)
                held_lines.append(lines)
                held_rows += frame.num_rows
                del batch, frame
                if held_rows < chunk_rows:
                    continue
                frame = _combine(held)
                lines = np.concatenate(held_lines)
                full = frame.num_rows - frame.num_rows % chunk_rows
                for start in range(0, full, chunk_rows):
                    yield RawChunk(frame.slice(start, chunk_rows), lines[start:start + chunk_rows], pending)
                    pending = []
                # The rest is copied so it does not keep the chunks' combined buffers alive.
                rest = np.arange(full, frame.num_rows)
                held, held_lines, held_rows = [frame.take(pa.array(rest))], [lines[full:].copy()], len(rest)
                del frame, lines
                if on_progress is not None:
                    on_progress(position())
            if held_rows or pending:
                frame = _combine(held) if held else _empty_table(header)
                yield RawChunk(frame, np.concatenate(held_lines) if held_lines else np.zeros(0, np.int64), pending)
                pending = []
            if on_progress is not None:
                on_progress(position())
        except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as exc:
            raise InputRefused(f"{path.name}: line {next_line} or after: cannot be parsed as CSV ({exc}); "
                               "expected comma-separated rows, quotes closed") from None
    if bad:
        yield RawChunk(_empty_table(header), np.zeros(0, np.int64), bad)


def _combine(held: list[pa.Table]) -> pa.Table:
    """The tables of ``held`` as one table of one chunk per column; empties ``held``.

    Column by column, each column's parts freed once copied, so the copy costs one
    column more than the rows, not twice the rows.
    """
    names = held[0].column_names
    parts = {c: [part for table in held for part in table.column(c).chunks] for c in names}
    held.clear()
    return pa.table({c: pa.concat_arrays(parts.pop(c)) for c in names})


def _string_table(header: list[str], columns: list[list[str]]) -> pa.Table:
    return pa.table({c: pa.array(v, pa.string()) for c, v in zip(header, columns)})


def _empty_table(header: list[str]) -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in header})


def _blank_rows(frame: pa.Table) -> np.ndarray:
    """Rows whose every value is empty (a blank line read as one empty field)."""
    blank = np.zeros(frame.num_rows, dtype=bool)
    if not frame.num_rows:
        return blank
    maybe = np.flatnonzero(pc.fill_null(pc.equal(frame.column(0), ""), False).to_numpy(zero_copy_only=False))
    if len(maybe):
        rows = frame.take(pa.array(maybe))
        empty = np.ones(len(maybe), dtype=bool)
        for column in rows.columns:
            empty &= pc.fill_null(pc.equal(column, ""), False).to_numpy(zero_copy_only=False)
        blank[maybe] = empty
    return blank


def _assign_lines(start: int, n: int, bad_lines: list[int]) -> np.ndarray:
    """The next ``n`` record numbers from ``start``, skipping those of invalid rows."""
    lines = np.arange(start, start + n + len(bad_lines), dtype=np.int64)
    if bad_lines:
        lines = lines[~np.isin(lines, bad_lines)]
    return lines[:n]


def _estimate_lines(path: Path) -> int:
    """Lines in the first 64 KiB, scaled to the file's size (compressed files: a guess)."""
    with open_bytes(path) as handle:
        head = handle.read(1 << 16)
    per_line = max(1, len(head) // max(1, head.count(b"\n")))
    size = path.stat().st_size * (4 if is_gz(path) else 1)
    return max(1, size // per_line)


def _open_parquet(path: Path, required: tuple[str, ...]) -> Source:
    name = path.name
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != b"PAR1":
        raise InputRefused(f"{name}: not a Parquet file (no PAR1 magic bytes); expected Parquet")
    try:
        meta = pq.ParquetFile(path)
        names = list(meta.schema_arrow.names)
        n_rows = meta.metadata.num_rows
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise InputRefused(f"{name}: cannot be read as Parquet ({exc}); expected an undamaged Parquet file") from None
    lowered = [c.strip().lower() for c in names]
    twice = sorted({c for c in lowered if lowered.count(c) > 1})
    if twice:
        raise InputRefused(f"{name}: column(s) {', '.join(twice)} appear twice; expected each column once")
    missing = [c for c in required if c not in lowered]
    if missing:
        raise InputRefused(f"{name}: missing required column(s) {', '.join(missing)}; expected {', '.join(required)}")
    if n_rows == 0:
        raise InputRefused(f"{name}: no rows; expected at least one claim line")
    return Source(name, path, file_sha256(path), "contract", n_rows,
                  lambda rows, cb: _iter_parquet(path, names, lowered, rows, cb))


def _iter_parquet(path: Path, names: list[str], lowered: list[str], chunk_rows: int,
                  on_progress: Callable[[int], None] | None) -> Iterator[RawChunk]:
    done = 0
    batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:  # a damaged page is met only when it is read
            raise InputRefused(f"{path.name}: rows after {done} cannot be read as Parquet ({exc}); "
                               "expected an undamaged Parquet file") from None
        if batch is None:
            return
        columns = {}
        for raw_name, col in zip(names, lowered):
            try:
                values = batch.column(raw_name).cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputRefused(
                    f"{path.name}: column {raw_name!r} of type {batch.schema.field(raw_name).type} "
                    "cannot be read as text; expected strings, numbers, booleans or dates"
                ) from None
            try:
                values.validate(full=True)  # Parquet does not check that strings are UTF-8; the kernels do
            except pa.ArrowInvalid:
                raise InputRefused(f"{path.name}: column {raw_name!r}, rows {done + 1} to {done + batch.num_rows}: "
                                   "bytes that are not UTF-8 text; expected UTF-8 strings") from None
            columns[col] = values.fill_null("")
        frame = pa.table(columns)
        lines = np.arange(done + 1, done + batch.num_rows + 1, dtype=np.int64)
        done += batch.num_rows
        yield RawChunk(frame, lines)
        if on_progress is not None:
            on_progress(done)
