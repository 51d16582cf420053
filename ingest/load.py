"""Loading one prepared source into the claims store, all of it or nothing.

A file becomes one batch: a folder of Parquet parts, one per service month
(:mod:`ingest.parts`), with the fingerprints of its keys (:mod:`ingest.keys`). Valid
rows stream into the batch's temporary folder while the rejected rows are staged in a
connection-private TEMP table and each key is checked against the committed batches'
key files and the file's earlier lines. At the end, one SQLite transaction inserts the
batch row, its parts, the quarantine rows and the reconciliation row; the folder is
renamed into place just before that transaction commits. A crash at any point leaves
either the whole batch or nothing but debris that :func:`ingest.catalogue.remove_orphans`
deletes (a folder or a Parquet file without its batch row, a ``.tmp`` folder).
"""

from __future__ import annotations

import json
import logging
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

from ingest.keys import KEY_FILE, FileKeys, find_in, fingerprints, read_key_file, write_key_file
from ingest.parts import BatchWriter, Part, parts_digest
from ingest.read import RawChunk, Source
from ingest.schema import MAX_FIELD_CHARS
from ingest.validate import ARROW_SCHEMA, TableValidation, table_of_strings, validate_table
from ground.errors import InputRefused, StoreError
from ground.sqlite import transaction

__all__ = ["FileReport", "LoadReport", "PARQUET_SCHEMA", "load_source", "migrate_batch", "committed_keys",
           "insert_parts", "batch_id_for", "record_skipped"]

log = logging.getLogger(__name__)

#: The schema of every batch's Parquet file: dates are stored as dates.
PARQUET_SCHEMA = ARROW_SCHEMA
_MIGRATE_ROWS = 131_072


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
    _create_stage(conn)
    report = FileReport(source.name, source.sha256, "loaded", batch_id=batch_id)
    by_rule: Counter[str] = Counter()
    min_date = max_date = None
    keys = _Keys(committed_keys(conn, claims_dir))
    batch = BatchWriter(claims_dir, batch_id, PARQUET_SCHEMA)
    chunks = _Prefetch(_validated(source.raw_chunks(chunk_rows, on_progress)))
    # Spilling releases the GIL: it runs beside the next chunk's validation, one write at a time.
    writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
    pending: Future | None = None
    published = False
    try:
        for n_chunk, (chunk, table, result) in enumerate(chunks, start=1):
            valid = _stage_chunk(conn, chunk, table, result, report, by_rule, keys)
            if valid.num_rows:
                if pending is not None:
                    pending.result()
                pending = writes.submit(batch.write, valid)
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
        if report.read == 0:
            raise InputRefused(f"{source.name}: no data rows; expected at least one claim line")
        report.by_rule = dict(sorted(by_rule.items()))
        parts = batch.finish()
        write_key_file(batch.folder, keys.file.sorted_keys())
        with transaction(conn):
            conn.execute(
                "INSERT INTO claim_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (batch_id, source.name, source.source_format, source.sha256, batch_id, parts_digest(parts),
                 report.loaded, _now(), _iso(min_date), _iso(max_date)),
            )
            insert_parts(conn, batch_id, parts)
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
            batch.publish()
        published = True
        log.info("loaded batch %s: read %d, loaded %d, quarantined %d",
                 batch_id, report.read, report.loaded, report.quarantined)
        return report
    finally:
        chunks.close()
        writes.shutdown(wait=True)
        if not published:
            batch.abort()
        _drop_stage(conn)


def migrate_batch(conn: sqlite3.Connection, claims_dir: Path, batch_id: str, parquet_name: str) -> None:
    """Rewrite a batch of the former layout (one Parquet file) as month parts with a key file.

    Atomic like a load: the new folder is moved into place inside the transaction that
    points the catalogue at it and drops the batch's ``claim_keys`` rows; the old file is
    deleted after the commit (or, after a crash, by :func:`ingest.catalogue.remove_orphans`).

    Parameters
    ----------
    conn : sqlite3.Connection
        The catalogue.
    claims_dir : Path
        ``HOME/claims``.
    batch_id : str
    parquet_name : str
        The batch's file in the former layout.
    """
    old = claims_dir / parquet_name
    batch = BatchWriter(claims_dir, batch_id, PARQUET_SCHEMA)
    keys = FileKeys()
    published = False
    try:
        for record_batch in pq.ParquetFile(old).iter_batches(batch_size=_MIGRATE_ROWS):
            table = pa.Table.from_batches([record_batch]).select(PARQUET_SCHEMA.names).cast(PARQUET_SCHEMA)
            h1, h2 = fingerprints(table.column("claim_id"), table.column("line_no").to_numpy())
            keys.add(h1, h2, np.zeros(len(h1), dtype=np.int64))
            batch.write(table)
        parts = batch.finish()
        write_key_file(batch.folder, keys.sorted_keys())
        with transaction(conn):
            conn.execute("UPDATE claim_batches SET parquet_name = ?, parquet_sha256 = ? WHERE batch_id = ?",
                         (batch_id, parts_digest(parts), batch_id))
            insert_parts(conn, batch_id, parts)
            conn.execute("DELETE FROM claim_keys WHERE batch_id = ?", (batch_id,))
            batch.publish()
        published = True
    finally:
        if not published:
            batch.abort()
    old.unlink(missing_ok=True)
    log.info("batch %s rewritten as %d month part(s)", batch_id, len(parts))


def committed_keys(conn: sqlite3.Connection, claims_dir: Path) -> list[tuple[str, np.ndarray]]:
    """The key files of every committed batch, memory-mapped, as (batch_id, keys).

    Parameters
    ----------
    conn : sqlite3.Connection
    claims_dir : Path

    Raises
    ------
    StoreError
        A batch of the month layout lacks its key file, or a batch is still in the
        former layout (:func:`migrate_batch` it first).
    """
    out = []
    for batch_id, name in conn.execute("SELECT batch_id, parquet_name FROM claim_batches ORDER BY batch_id"):
        path = claims_dir / name / KEY_FILE
        try:
            out.append((batch_id, read_key_file(path)))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: cannot read the key file of batch {batch_id} ({exc})") from None
    return out


def insert_parts(conn: sqlite3.Connection, batch_id: str, parts: list[Part]) -> None:
    """Catalogue a batch's parts (inside the caller's transaction).

    Parameters
    ----------
    conn : sqlite3.Connection
    batch_id : str
    parts : list of Part
    """
    conn.executemany(
        "INSERT INTO claim_parts (batch_id, part_name, month, rows, min_service_date, max_service_date, sha256)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(batch_id, p.name, p.month, p.rows, p.min_service_date, p.max_service_date, p.sha256) for p in parts],
    )


def _validated(chunks: Iterator[RawChunk]) -> Iterator[tuple[RawChunk, pa.Table, TableValidation]]:
    """Each chunk with its rows as an Arrow table and their validation."""
    for chunk in chunks:
        table = chunk.frame if isinstance(chunk.frame, pa.Table) else table_of_strings(chunk.frame)
        item = chunk, table, validate_table(table)
        del chunk, table
        yield item
        del item


def _stage_chunk(conn: sqlite3.Connection, chunk: RawChunk, table: pa.Table, result: TableValidation,
                 report: FileReport, by_rule: Counter, keys: _Keys) -> pa.Table:
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
    dup_pos, dup_msgs = keys.duplicates(valid, lines)
    if len(dup_pos):
        for pos, message, raw in zip(dup_pos, dup_msgs, _raw_rows(as_read, result.valid_pos[dup_pos])):
            quarantine.append((int(lines[pos]), "(claim_id, line_no) unique", "DUPLICATE_KEY", message,
                               json.dumps(raw, ensure_ascii=False)))
        keep = np.ones(valid.num_rows, dtype=bool)
        keep[dup_pos] = False
        valid = valid.filter(pa.array(keep))
    if quarantine:
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


class _Keys:
    """The duplicate check of one load: against committed batches and earlier lines of the file."""

    def __init__(self, committed: list[tuple[str, np.ndarray]]):
        self.committed = committed
        self.file = FileKeys()

    def duplicates(self, valid: pa.Table, lines: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Positions of the chunk's duplicate keys and why; the others are remembered.

        A row is a duplicate when its key is already loaded, was seen in an earlier
        chunk, or earlier in this chunk.

        Parameters
        ----------
        valid : pyarrow.Table
            The chunk's valid rows.
        lines : ndarray
            Their lines in the file.
        """
        n = valid.num_rows
        if not n:
            return np.zeros(0, dtype=np.int64), []
        h1, h2 = fingerprints(valid.column("claim_id"), valid.column("line_no").to_numpy())
        found: dict[int, str] = {}
        order = _key_order(h1, h2)
        s1, s2 = h1[order], h2[order]
        same = (s1[1:] == s1[:-1]) & (s2[1:] == s2[:-1])
        if same.any():
            starts = np.flatnonzero(np.r_[True, ~same])
            start_of = np.repeat(starts, np.diff(np.r_[starts, n]))
            for k in (np.flatnonzero(same) + 1).tolist():
                first_line = lines[order[start_of[k]]]
                found[int(order[k])] = f"(claim_id, line_no) already seen in this file at line {first_line}"
        # the first line of each key, in key order (what find_in searches fastest)
        candidates = order[np.r_[True, ~same]]
        q1, q2 = h1[candidates], h2[candidates]
        for batch_id, keys in self.committed:
            for pos in candidates[find_in(keys[0], keys[1], q1, q2) >= 0].tolist():
                found.setdefault(pos, f"(claim_id, line_no) already loaded in batch {batch_id}")
        seen_at = self.file.find(q1, q2)
        for pos, line in zip(candidates[seen_at >= 0].tolist(), seen_at[seen_at >= 0].tolist()):
            found.setdefault(pos, f"(claim_id, line_no) already seen in this file at line {line}")
        new = np.ones(n, dtype=bool)
        new[list(found)] = False
        self.file.add(h1[new], h2[new], lines[new])
        ordered = sorted(found)
        return np.asarray(ordered, dtype=np.int64), [found[p] for p in ordered]


def _key_order(h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    """Positions sorted by (h1, h2, position).

    A stable sort on the first half alone is that order unless two keys share a first half
    (about 1 chance in 10^8 per pair of chunks of 100,000 lines): then the three-key sort.
    """
    order = np.argsort(h1, kind="stable")
    s1 = h1[order]
    tied = s1[1:] == s1[:-1]
    if tied.any():
        # runs of equal first halves whose second halves are all equal too (repeated keys) are in order
        s2 = h2[order]
        if (s2[1:][tied] != s2[:-1][tied]).any():
            return np.lexsort((np.arange(len(h1)), h2, h1))
    return order


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
        "DROP TABLE IF EXISTS temp._stage_q;"
        "CREATE TEMP TABLE _stage_q (seq INTEGER PRIMARY KEY, line INTEGER, rule TEXT, reason TEXT,"
        " message TEXT, raw_json TEXT);"
    )


def _drop_stage(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.rollback()
    conn.executescript("DROP TABLE IF EXISTS temp._stage_q;")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _iso(value) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()
