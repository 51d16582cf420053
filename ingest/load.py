"""Loading one prepared source into the claims store, all of it or nothing.

A file becomes one batch: its valid rows stream into a temporary Parquet file (one
row group per chunk) while their keys and the rejected rows are staged in
connection-private TEMP tables. At the end, one SQLite transaction inserts the batch
row, the keys, the quarantine rows and the reconciliation row; the Parquet file is
renamed into place just before that transaction commits. A crash at any point leaves
either the whole batch or nothing but debris that :func:`ingest.catalogue.remove_orphans`
deletes (a Parquet file without its batch row, a ``.tmp`` file).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.read import RawChunk, Source, file_sha256
from ingest.schema import MAX_FIELD_CHARS
from ingest.validate import ARROW_SCHEMA, TableValidation, table_of_strings, validate_table
from ground.errors import InputRefused
from ground.files import create_private
from ground.sqlite import transaction

__all__ = ["FileReport", "LoadReport", "PARQUET_SCHEMA", "load_source", "batch_id_for", "record_skipped"]

log = logging.getLogger(__name__)

#: The schema of every batch's Parquet file: dates are stored as dates.
PARQUET_SCHEMA = ARROW_SCHEMA


@dataclass
class FileReport:
    """What happened to one source file: ``status`` is ``loaded`` or ``already_loaded``.

    ``read`` counts the data rows read from the file (blank lines excepted); a file
    skipped as already loaded is not read again, so its counts are all zero.
    """

    name: str
    sha256: str
    status: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    batch_id: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LoadReport:
    """The reconciliation of one ingest: ``read == loaded + quarantined``, over all files.

    ``already_loaded`` counts files skipped because a file with the same SHA-256 was
    loaded before; ``providers`` holds the providers file's own counts when one was given.
    """

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    files: list[FileReport] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)
    already_loaded: int = 0
    providers: dict | None = None

    def add(self, report: FileReport) -> None:
        """Add one file's counts.

        Parameters
        ----------
        report : FileReport
        """
        self.files.append(report)
        self.read += report.read
        self.loaded += report.loaded
        self.quarantined += report.quarantined
        for rule, count in report.by_rule.items():
            self.by_rule[rule] = self.by_rule.get(rule, 0) + count
        if report.status == "already_loaded":
            self.already_loaded += 1
        elif report.batch_id:
            self.batch_ids.append(report.batch_id)

    def to_dict(self) -> dict:
        """Plain data for ``--json``."""
        out = {k: v for k, v in self.__dict__.items() if k != "files"}
        out["by_rule"] = dict(sorted(self.by_rule.items()))
        out["files"] = [f.to_dict() for f in self.files]
        return out


def batch_id_for(sha256: str, source_format: str) -> str:
    """Batch ids derive from the source's content, so the same file always gets the same id.

    Parameters
    ----------
    sha256 : str
        The source file's SHA-256.
    source_format : str
        ``contract`` or the adapter's name.
    """
    prefix = "k" if source_format != "contract" else "b"
    return f"{prefix}{sha256[:19]}"


def record_skipped(conn: sqlite3.Connection, source: Source) -> FileReport:
    """Record a load of an already loaded file (nothing read) and report it.

    Parameters
    ----------
    conn : sqlite3.Connection
    source : Source
    """
    now = _now()
    with transaction(conn):
        conn.execute(
            "INSERT INTO claim_loads (source_name, sha256, source_format, batch_id, status, read, loaded,"
            " quarantined, by_rule_json, started_at, finished_at)"
            " SELECT ?, ?, ?, batch_id, 'already_loaded', 0, 0, 0, '{}', ?, ? FROM claim_batches WHERE sha256 = ?",
            (source.name, source.sha256, source.source_format, now, now, source.sha256),
        )
    return FileReport(source.name, source.sha256, "already_loaded")


def load_source(
    conn: sqlite3.Connection,
    claims_dir: Path,
    source: Source,
    *,
    chunk_rows: int,
    on_progress: Callable[[int], None] | None = None,
    after_chunk: Callable[[int], None] | None = None,
) -> FileReport:
    """Validate and load one source as one batch, atomically (see module notes).

    ``after_chunk`` is called with the chunk count after each staged chunk (tests use
    it to interrupt a load). Raises :class:`InputRefused` when the file turns out
    unreadable part-way, after removing everything it staged.

    Parameters
    ----------
    conn : sqlite3.Connection
        The catalogue.
    claims_dir : Path
        Where batches are written.
    source : Source
    chunk_rows : int
        Rows validated at a time.
    on_progress : callable, optional
        Called with the bytes or rows read so far.
    after_chunk : callable, optional
        Called with the number of chunks staged.
    """
    started = _now()
    batch_id = batch_id_for(source.sha256, source.source_format)
    parquet_name = f"{batch_id}.parquet"
    tmp = claims_dir / f".{parquet_name}.{os.getpid()}.tmp"
    _create_stage(conn)
    report = FileReport(source.name, source.sha256, "loaded", batch_id=batch_id)
    by_rule: Counter[str] = Counter()
    min_date = max_date = None
    writer = pq.ParquetWriter(create_private(tmp), PARQUET_SCHEMA)
    chunks = _Prefetch(_validated(source.raw_chunks(chunk_rows, on_progress)))
    # Parquet encoding releases the GIL: it runs beside the next chunk's validation, one write at a time.
    writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
    pending: Future | None = None
    try:
        for n_chunk, (chunk, table, result) in enumerate(chunks, start=1):
            valid = _stage_chunk(conn, chunk, table, result, report, by_rule)
            if valid.num_rows:
                if pending is not None:
                    pending.result()
                pending = writes.submit(writer.write_table, valid)
                span = pc.min_max(valid.column("service_date"))
                lo, hi = span["min"].as_py(), span["max"].as_py()
                min_date = lo if min_date is None or lo < min_date else min_date
                max_date = hi if max_date is None or hi > max_date else max_date
            conn.commit()
            # Let go of this chunk before waiting for the next one: only the writer still needs its rows.
            del chunk, table, result, valid
            if after_chunk is not None:
                after_chunk(n_chunk)
        if pending is not None:
            pending.result()
        writer.close()
        writer = None
        if report.read == 0:
            raise InputRefused(f"{source.name}: no data rows; expected at least one claim line")
        report.by_rule = dict(sorted(by_rule.items()))
        parquet_sha = file_sha256(tmp)
        with transaction(conn):
            conn.execute(
                "INSERT INTO claim_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (batch_id, source.name, source.source_format, source.sha256, parquet_name, parquet_sha,
                 report.loaded, _now(), _iso(min_date), _iso(max_date)),
            )
            conn.execute("INSERT INTO claim_keys SELECT claim_id, line_no, ? FROM temp._stage_keys", (batch_id,))
            cur = conn.execute(
                "INSERT INTO claim_loads (source_name, sha256, source_format, batch_id, status, read, loaded,"
                " quarantined, by_rule_json, started_at, finished_at) VALUES (?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?)",
                (source.name, source.sha256, source.source_format, batch_id, report.read, report.loaded,
                 report.quarantined, json.dumps(report.by_rule), started, _now()),
            )
            conn.execute(
                "INSERT INTO quarantine (load_id, dataset, source_name, sha256, line, rule, reason, message, raw_json)"
                " SELECT ?, 'claims', ?, ?, line, rule, reason, message, raw_json FROM temp._stage_q ORDER BY seq",
                (cur.lastrowid, source.name, source.sha256),
            )
            os.replace(tmp, claims_dir / parquet_name)
        log.info("loaded batch %s: read %d, loaded %d, quarantined %d",
                 batch_id, report.read, report.loaded, report.quarantined)
        return report
    finally:
        chunks.close()
        writes.shutdown(wait=True)
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
        _drop_stage(conn)


def _validated(chunks: Iterator[RawChunk]) -> Iterator[tuple[RawChunk, pa.Table, TableValidation]]:
    """Each chunk with its rows as an Arrow table and their validation."""
    for chunk in chunks:
        table = chunk.frame if isinstance(chunk.frame, pa.Table) else table_of_strings(chunk.frame)
        item = chunk, table, validate_table(table)
        del chunk, table
        yield item
        del item


def _stage_chunk(conn: sqlite3.Connection, chunk: RawChunk, table: pa.Table, result: TableValidation,
                 report: FileReport, by_rule: Counter) -> pa.Table:
    """Stage a validated chunk's rejected rows and keys; return the rows to write."""
    quarantine: list[tuple] = []
    for line, text, message in chunk.bad_rows:
        quarantine.append((line, "row shape", "BAD_ROW", message, json.dumps({"_text": text}, ensure_ascii=False)))
    issues = result.issues
    as_read = chunk.original if chunk.original is not None else chunk.frame
    if len(issues):
        pos = issues["pos"].to_numpy()
        for line, rule, reason, message, raw in zip(chunk.lines[pos], issues["rule"], issues["reason"],
                                                    issues["message"], _raw_rows(as_read, pos)):
            quarantine.append((int(line), rule, reason, message, json.dumps(raw, ensure_ascii=False)))
    valid = result.valid
    lines = chunk.lines[result.valid_pos]
    dup_pos, dup_msgs = _stage_keys(conn, valid, lines)
    if len(dup_pos):
        for pos, message, raw in zip(dup_pos, dup_msgs, _raw_rows(as_read, result.valid_pos[dup_pos])):
            quarantine.append((int(lines[pos]), "(claim_id, line_no) unique", "DUPLICATE_KEY", message,
                               json.dumps(raw, ensure_ascii=False)))
        keep = np.ones(valid.num_rows, dtype=bool)
        keep[dup_pos] = False
        valid = valid.filter(pa.array(keep))
    conn.executemany(
        "INSERT INTO temp._stage_q (line, rule, reason, message, raw_json) VALUES (?, ?, ?, ?, ?)", quarantine,
    )
    for row in quarantine:
        by_rule[row[2]] += 1
    report.read += table.num_rows + len(chunk.bad_rows)
    report.loaded += valid.num_rows
    report.quarantined += len(quarantine)
    return valid


def _raw_rows(as_read: pa.Table | pd.DataFrame, pos: np.ndarray) -> list[dict]:
    """The rows at ``pos`` with their values as read, one dict each.

    A value longer than :data:`MAX_FIELD_CHARS` is cut there and marked, so one huge
    field does not bloat the quarantine.
    """
    if isinstance(as_read, pa.Table):
        rows = as_read.take(pa.array(pos, type=pa.int64())).to_pylist()
    else:
        rows = as_read.iloc[pos].to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                row[key] = f"{value[:MAX_FIELD_CHARS]}... [cut: {len(value)} characters]"
    return rows


def _stage_keys(conn: sqlite3.Connection, valid: pa.Table, lines: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Stage the keys of a chunk's valid rows; return the positions of duplicates and why.

    A row is a duplicate when its key is already loaded, staged from an earlier chunk,
    or earlier in this chunk. The chunk's first occurrences go to ``temp._chunk`` in
    one ``executemany``; the join and the move into ``temp._stage_keys`` stay in SQLite.
    """
    if not valid.num_rows:
        return np.zeros(0, dtype=np.int64), []
    claim_ids = valid.column("claim_id").to_numpy(zero_copy_only=False)
    line_nos = valid.column("line_no").to_numpy()
    first, within = _first_occurrences(valid)
    conn.execute("DELETE FROM temp._chunk")
    conn.executemany("INSERT INTO temp._chunk VALUES (?, ?, ?, ?)",
                     zip(first.tolist(), claim_ids[first].tolist(), line_nos[first].tolist(),
                         lines[first].tolist()))
    found: dict[int, str] = {}
    for pos, batch_id in conn.execute(
        "SELECT c.pos, k.batch_id FROM temp._chunk c JOIN main.claim_keys k"
        " ON k.claim_id = c.claim_id AND k.line_no = c.line_no"
    ):
        found[pos] = f"(claim_id, line_no) already loaded in batch {batch_id}"
    if found:
        conn.executemany("DELETE FROM temp._chunk WHERE pos = ?", ((p,) for p in found))
    # Keys staged from earlier chunks are rare: insert, and look for them only if some were ignored.
    before = conn.total_changes
    conn.execute("INSERT OR IGNORE INTO temp._stage_keys SELECT claim_id, line_no, line FROM temp._chunk")
    if conn.total_changes - before < len(first) - len(found):
        for pos, line in conn.execute(
            "SELECT c.pos, s.line FROM temp._chunk c JOIN temp._stage_keys s"
            " ON s.claim_id = c.claim_id AND s.line_no = c.line_no WHERE s.line != c.line"
        ):
            found[pos] = f"(claim_id, line_no) already seen in this file at line {line}"
    if len(within):
        first_line = {}
        for pos in first.tolist():
            first_line[(claim_ids[pos], int(line_nos[pos]))] = int(lines[pos])
        for pos in within.tolist():
            key = (claim_ids[pos], int(line_nos[pos]))
            found.setdefault(pos, f"(claim_id, line_no) already seen in this file at line {first_line[key]}")
    order = sorted(found)
    return np.asarray(order, dtype=np.int64), [found[p] for p in order]


def _first_occurrences(valid: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Positions of each key's first row in the chunk, and of every later row, both sorted."""
    keyed = pa.table({"claim_id": valid.column("claim_id"), "line_no": valid.column("line_no"),
                      "pos": pa.array(np.arange(valid.num_rows, dtype=np.int64))})
    first = np.sort(keyed.group_by(["claim_id", "line_no"], use_threads=False)
                    .aggregate([("pos", "min")]).column("pos_min").to_numpy())
    if len(first) == valid.num_rows:
        return first, np.zeros(0, dtype=np.int64)
    later = np.ones(valid.num_rows, dtype=bool)
    later[first] = False
    return first, np.flatnonzero(later)


class _Prefetch:
    """Iterate ``chunks`` in a thread, one chunk ahead (CSV parsing and Arrow kernels release the GIL).

    Holding one chunk ahead keeps memory bounded by the chunk size: the reader starts on
    the next chunk only once the consumer took the last one, so at most one waits. An
    exception in the reader (a file unreadable part-way) is raised where the chunk would have been.
    """

    def __init__(self, chunks: Iterator):
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._taken = threading.Semaphore(0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(chunks,), name="chunks", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator:
        while True:
            kind, item = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            self._taken.release()
            yield item
            del item

    def close(self) -> None:
        """Stop the reader and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def _run(self, chunks: Iterator) -> None:
        try:
            for chunk in chunks:
                if not self._put(("chunk", chunk)):
                    return
                del chunk
                if not self._wait_taken():
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(("error", exc))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _wait_taken(self) -> bool:
        while not self._stop.is_set():
            if self._taken.acquire(timeout=0.05):
                return True
        return False

    def _put(self, item: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False


def _create_stage(conn: sqlite3.Connection) -> None:
    conn.executescript(
        "DROP TABLE IF EXISTS temp._stage_keys; DROP TABLE IF EXISTS temp._stage_q; DROP TABLE IF EXISTS temp._chunk;"
        "CREATE TEMP TABLE _stage_keys (claim_id TEXT, line_no INTEGER, line INTEGER,"
        " PRIMARY KEY (claim_id, line_no)) WITHOUT ROWID;"
        "CREATE TEMP TABLE _stage_q (seq INTEGER PRIMARY KEY, line INTEGER, rule TEXT, reason TEXT,"
        " message TEXT, raw_json TEXT);"
        "CREATE TEMP TABLE _chunk (pos INTEGER PRIMARY KEY, claim_id TEXT, line_no INTEGER, line INTEGER);"
    )


def _drop_stage(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.rollback()
    conn.executescript(
        "DROP TABLE IF EXISTS temp._stage_keys; DROP TABLE IF EXISTS temp._stage_q; DROP TABLE IF EXISTS temp._chunk;"
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _iso(value) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()
