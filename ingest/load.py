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
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.read import RawChunk, Source, file_sha256
from ingest.schema import CLAIM_DTYPES
from ingest.validate import validate_claims
from shabaka.errors import InputRefused
from shabaka.sqlite import transaction

__all__ = ["FileReport", "LoadReport", "PARQUET_SCHEMA", "load_source", "batch_id_for", "record_skipped"]

log = logging.getLogger(__name__)

_ARROW = {"string": pa.string(), "int64": pa.int64(), "Int64": pa.int64(), "float64": pa.float64(),
          "boolean": pa.bool_(), "datetime64[ns]": pa.date32()}
#: The schema of every batch's Parquet file: dates are stored as dates.
PARQUET_SCHEMA = pa.schema([pa.field(c, _ARROW[t]) for c, t in CLAIM_DTYPES.items()])


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
        """Add one file's counts."""
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
    """Batch ids derive from the source's content, so the same file always gets the same id."""
    prefix = "k" if source_format != "contract" else "b"
    return f"{prefix}{sha256[:19]}"


def record_skipped(conn: sqlite3.Connection, source: Source) -> FileReport:
    """Record a load of an already loaded file (nothing read) and report it."""
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
    """
    started = _now()
    batch_id = batch_id_for(source.sha256, source.source_format)
    parquet_name = f"{batch_id}.parquet"
    tmp = claims_dir / f".{parquet_name}.{os.getpid()}.tmp"
    _create_stage(conn)
    report = FileReport(source.name, source.sha256, "loaded", batch_id=batch_id)
    by_rule: Counter[str] = Counter()
    min_date = max_date = None
    writer = pq.ParquetWriter(tmp, PARQUET_SCHEMA)
    try:
        for n_chunk, chunk in enumerate(source.chunks(chunk_rows, on_progress), start=1):
            valid = _stage_chunk(conn, chunk, report, by_rule)
            if len(valid):
                writer.write_table(pa.Table.from_pandas(valid, preserve_index=False).cast(PARQUET_SCHEMA))
                lo, hi = valid["service_date"].min(), valid["service_date"].max()
                min_date = lo if min_date is None or lo < min_date else min_date
                max_date = hi if max_date is None or hi > max_date else max_date
            conn.commit()
            if after_chunk is not None:
                after_chunk(n_chunk)
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
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
        _drop_stage(conn)


def _stage_chunk(conn: sqlite3.Connection, chunk: RawChunk, report: FileReport, by_rule: Counter) -> pd.DataFrame:
    """Validate a chunk, stage its rejected rows and keys; return the rows to write."""
    quarantine: list[tuple] = []
    for line, text, message in chunk.bad_rows:
        quarantine.append((line, "row shape", "BAD_ROW", message, json.dumps({"_text": text}, ensure_ascii=False)))
    result = validate_claims(chunk.frame)
    issues = result.issues
    as_read = chunk.original if chunk.original is not None else chunk.frame
    if len(issues):
        raw_rows = as_read.iloc[issues["pos"].to_numpy()].to_dict("records")
        lines = chunk.lines[issues["pos"].to_numpy()]
        for line, rule, reason, message, raw in zip(lines, issues["rule"], issues["reason"], issues["message"],
                                                    raw_rows):
            quarantine.append((int(line), rule, reason, message, json.dumps(raw, ensure_ascii=False)))
    valid = result.valid
    lines = chunk.lines[result.valid_pos]
    dup_pos, dup_msgs = _duplicates(conn, valid, lines)
    if len(dup_pos):
        raw_rows = as_read.iloc[result.valid_pos[dup_pos]].to_dict("records")
        for pos, message, raw in zip(dup_pos, dup_msgs, raw_rows):
            quarantine.append((int(lines[pos]), "(claim_id, line_no) unique", "DUPLICATE_KEY", message,
                               json.dumps(raw, ensure_ascii=False)))
        keep = np.ones(len(valid), dtype=bool)
        keep[dup_pos] = False
        valid = valid.loc[keep].reset_index(drop=True)
        lines = lines[keep]
    conn.executemany(
        "INSERT INTO temp._stage_keys VALUES (?, ?, ?)",
        zip(valid["claim_id"].tolist(), valid["line_no"].tolist(), lines.tolist()),
    )
    conn.executemany(
        "INSERT INTO temp._stage_q (line, rule, reason, message, raw_json) VALUES (?, ?, ?, ?, ?)", quarantine,
    )
    for row in quarantine:
        by_rule[row[2]] += 1
    report.read += len(chunk.frame) + len(chunk.bad_rows)
    report.loaded += len(valid)
    report.quarantined += len(quarantine)
    return valid


def _duplicates(conn: sqlite3.Connection, valid: pd.DataFrame, lines: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Positions of rows whose key is already loaded, staged, or earlier in the chunk."""
    if not len(valid):
        return np.zeros(0, dtype=np.int64), []
    keys = valid[["claim_id", "line_no"]]
    first = keys.drop_duplicates(keep="first")
    conn.execute("DELETE FROM temp._chunk")
    conn.executemany("INSERT INTO temp._chunk VALUES (?, ?, ?)",
                     zip(first.index.tolist(), first["claim_id"].tolist(), first["line_no"].tolist()))
    found: dict[int, str] = {}
    for pos, batch_id in conn.execute(
        "SELECT c.pos, k.batch_id FROM temp._chunk c JOIN main.claim_keys k"
        " ON k.claim_id = c.claim_id AND k.line_no = c.line_no"
    ):
        found[pos] = f"(claim_id, line_no) already loaded in batch {batch_id}"
    for pos, line in conn.execute(
        "SELECT c.pos, s.line FROM temp._chunk c JOIN temp._stage_keys s"
        " ON s.claim_id = c.claim_id AND s.line_no = c.line_no"
    ):
        found.setdefault(pos, f"(claim_id, line_no) already seen in this file at line {line}")
    within = np.flatnonzero(keys.duplicated(keep="first").to_numpy())
    if len(within):
        first_line = {}
        for pos, key in zip(range(len(keys)), zip(keys["claim_id"], keys["line_no"])):
            first_line.setdefault(key, int(lines[pos]))
        for pos in within:
            key = (keys["claim_id"].iat[pos], keys["line_no"].iat[pos])
            found.setdefault(int(pos), f"(claim_id, line_no) already seen in this file at line {first_line[key]}")
    order = sorted(found)
    return np.asarray(order, dtype=np.int64), [found[p] for p in order]


def _create_stage(conn: sqlite3.Connection) -> None:
    conn.executescript(
        "DROP TABLE IF EXISTS temp._stage_keys; DROP TABLE IF EXISTS temp._stage_q; DROP TABLE IF EXISTS temp._chunk;"
        "CREATE TEMP TABLE _stage_keys (claim_id TEXT, line_no INTEGER, line INTEGER,"
        " PRIMARY KEY (claim_id, line_no)) WITHOUT ROWID;"
        "CREATE TEMP TABLE _stage_q (seq INTEGER PRIMARY KEY, line INTEGER, rule TEXT, reason TEXT,"
        " message TEXT, raw_json TEXT);"
        "CREATE TEMP TABLE _chunk (pos INTEGER PRIMARY KEY, claim_id TEXT, line_no INTEGER);"
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
