"""The claims store: immutable batches under ``HOME/claims/``, catalogued in SQLite.

A batch is a folder of Parquet parts, one per service month (:mod:`ingest.parts`).
Use :meth:`ClaimsStore.ingest` to load files (see :mod:`ingest.load` for how a load is
made atomic and idempotent), :meth:`ClaimsStore.claims` to read claims back with the
contract's dtypes, and :meth:`ClaimsStore.files` for the Parquet files a window needs
(to scan them with another engine, e.g. DuckDB). Batches written in the former layout
(one Parquet file per batch) are read as they are and rewritten by the next ingest.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

from ingest.catalogue import CLAIMS_DIR, DB_NAME, clean_if_idle, ingest_lock, init_schema, remove_orphans
from ingest.encode import encoded_frame, release_unused_memory
from ingest.kaggle import kaggle_sources
from ingest.load import PARQUET_SCHEMA, LoadReport, load_source, migrate_batch, record_skipped
from ingest.providers import load_providers
from ingest.read import RescanNeeded, Source, open_source
from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES, PROVIDER_COLUMNS, REQUIRED_PROVIDER_COLUMNS
from ground.errors import InputRefused, StoreError
from ground.files import private_dir
from ground.sqlite import connect

__all__ = ["ClaimsStore", "LoadReport", "SOURCE_FORMATS"]

SOURCE_FORMATS = ("contract", "kaggle-provider-fraud")

log = logging.getLogger(__name__)

_BATCH_COLUMNS = ["batch_id", "source_name", "source_format", "sha256", "parquet_name", "parquet_sha256", "rows",
                  "loaded_at", "min_service_date", "max_service_date"]
_QUARANTINE_COLUMNS = ["id", "load_id", "dataset", "source_name", "sha256", "line", "rule", "reason", "message",
                       "raw_json"]


class ClaimsStore:
    """Claims batches under ``home/claims/`` and their catalogue in ``home/shabaka.sqlite``.

    Opening the store removes debris of an interrupted load when no load is running.

    Parameters
    ----------
    home : path
        The Shabaka home folder (``settings.home_path``).
    conn : sqlite3.Connection, optional
        An open connection to ``home/shabaka.sqlite`` to use instead of opening one (the
        viewer lends its request's); the store then leaves it open when closed.
    """

    def __init__(self, home: str | Path, *, conn: sqlite3.Connection | None = None):
        self.home = Path(home)
        self.claims_dir = self.home / CLAIMS_DIR
        private_dir(self.claims_dir)
        self._owns_conn = conn is None
        self._conn = connect(self.home / DB_NAME) if conn is None else conn
        init_schema(self._conn)
        clean_if_idle(self._conn, self.claims_dir)

    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        providers: str | Path | None = None,
        chunk_rows: int = 100_000,
        progress: bool = False,
        source_format: str = "contract",
        after_chunk: Callable[[int], None] | None = None,
    ) -> LoadReport:
        """Validate and load claim files; each file becomes one batch, loaded all or nothing.

        Every file is checked (format, encoding, header) before any is written, so a
        refused file stops the whole call with nothing written: the first file's encoding
        and line lengths are checked as it loads (one decompression instead of two), and
        the providers file is written after it. Files already loaded
        (same SHA-256) are skipped and reported as ``already_loaded`` with zero rows read.

        Parameters
        ----------
        paths : iterable of path
            Contract files (``.csv``, ``.csv.gz``, ``.parquet``), or for
            ``source_format="kaggle-provider-fraud"`` the dataset's folder.
        providers : path, optional
            A providers file (contract "providers"), validated and upserted by provider_id.
        chunk_rows : int
            Rows validated and written at a time; bounds memory.
        progress : bool
            Show a progress bar per file on standard error.
        source_format : str
            ``contract`` or ``kaggle-provider-fraud``.
        after_chunk : callable, optional
            Called with the chunk count after each chunk is staged.

        Returns
        -------
        LoadReport

        Raises
        ------
        InputRefused
            A file cannot be read as the contract; nothing of it was written.
        """
        if source_format not in SOURCE_FORMATS:
            raise InputRefused(f"unknown source format {source_format!r}; expected one of {', '.join(SOURCE_FORMATS)}")
        if chunk_rows < 1:
            raise InputRefused(f"chunk_rows {chunk_rows}: expected a whole number >= 1")
        paths = [Path(p) for p in paths]
        if source_format == "contract":
            # The first file is loaded before anything else is written (the providers file after it), so
            # its UTF-8 and line-length checks can be made as it is read: one decompression, not two.
            sources = [open_source(p, defer_scan=i == 0) for i, p in enumerate(paths)]
        else:
            sources = [s for p in paths for s in kaggle_sources(p)]
        provider_source = None if providers is None else open_source(Path(providers), REQUIRED_PROVIDER_COLUMNS)
        report = LoadReport()
        with ingest_lock(self.claims_dir):
            remove_orphans(self._conn, self.claims_dir)
            for batch_id, name in self._conn.execute(
                    "SELECT batch_id, parquet_name FROM claim_batches WHERE parquet_name LIKE '%.parquet'").fetchall():
                migrate_batch(self._conn, self.claims_dir, batch_id, name)
            for n, source in enumerate(sources):
                if self._loaded(source.sha256):
                    report.add(record_skipped(self._conn, source))
                else:
                    report.add(self._load(source, chunk_rows, progress, after_chunk))
                if n == 0 and provider_source is not None:
                    report.providers = load_providers(self._conn, provider_source)
            if not sources and provider_source is not None:
                report.providers = load_providers(self._conn, provider_source)
        return report

    def claims(
        self,
        start: date | str | None = None,
        end: date | str | None = None,
        *,
        columns: Iterable[str] | None = None,
        batch_ids: Iterable[str] | None = None,
        any_of: Mapping[str, Iterable[str]] | None = None,
        encoded: bool = False,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Claim lines with service_date in [start, end] (inclusive), with ``CLAIM_DTYPES``.

        Parameters
        ----------
        start, end : date or ISO string, optional
            Bounds on service_date; None leaves that side open.
        columns : iterable of str, optional
            Contract columns to return (default all, in contract order).
        batch_ids : iterable of str, optional
            Only these batches (default every committed batch).
        any_of : mapping of column to values, optional
            Keep only lines where at least one of these columns holds one of its
            values (e.g. a ring's providers or its patients); the test runs inside
            the Parquet scan, so a few entities are read without loading the window.
        encoded : bool
            Text columns as :func:`ingest.encode.encoded_frame` holds them (coded columns
            as Categorical, identifiers as Arrow strings with NaN for missing), for
            detection over a whole window; the values are the same.
        limit : int, optional
            Read at most this many lines (the first the scan meets), so a caller serving
            a request bounds its memory whatever the entity; all when None.

        Returns
        -------
        DataFrame
        """
        columns = list(CLAIM_COLUMNS if columns is None else columns)
        unknown = [c for c in columns if c not in CLAIM_DTYPES]
        if unknown:
            raise InputRefused(f"unknown claim column(s) {', '.join(unknown)}; expected contract columns")
        files = [str(p) for p in self.files(start, end, batch_ids=batch_ids)]
        typed = encoded_frame if encoded else _typed
        if not files:
            return typed(pa.Table.from_pylist([], schema=PARQUET_SCHEMA).select(columns))
        dataset = pads.dataset(files, schema=PARQUET_SCHEMA, format="parquet")
        condition = None
        if start is not None:
            condition = pads.field("service_date") >= pa.scalar(_as_date(start, "start"), pa.date32())
        if end is not None:
            upper = pads.field("service_date") <= pa.scalar(_as_date(end, "end"), pa.date32())
            condition = upper if condition is None else condition & upper
        if any_of is not None:
            matches = None
            for column, values in any_of.items():
                if column not in CLAIM_DTYPES:
                    raise InputRefused(f"any_of: unknown claim column {column!r}; expected a contract column")
                wanted = sorted({str(v) for v in values})
                if wanted:
                    test = pads.field(column).isin(pa.array(wanted, pa.string()))
                    matches = test if matches is None else matches | test
            if matches is None:
                return typed(pa.Table.from_pylist([], schema=PARQUET_SCHEMA).select(columns))
            condition = matches if condition is None else condition & matches
        try:
            if limit is not None:
                return typed(dataset.head(int(limit), columns=columns, filter=condition))
            if any_of is not None:
                # A few entities' lines: small, and each column read would test the filter again.
                return typed(dataset.to_table(columns=columns, filter=condition))
            # A window: one column at a time, each converted before the next is read, so the process holds
            # the frame and one column of Arrow, not the whole window twice (Arrow's and pandas'): about 380 MB
            # less per million lines at the peak of a window read, measured.
            frame = {}
            for column in columns:
                frame[column] = typed(dataset.to_table(columns=[column], filter=condition))[column]
                if len(frame[column]) != len(frame[columns[0]]):
                    raise StoreError(f"{self.claims_dir}: the claims batches changed while being read")
        except (pa.ArrowException, OSError) as exc:
            raise StoreError(f"{self.claims_dir}: cannot read claims batches ({exc})") from None
        # the columns' Arrow reads are freed; their blocks would otherwise stay resident under detection
        release_unused_memory()
        return pd.DataFrame(frame, columns=columns, copy=False)

    def files(
        self,
        start: date | str | None = None,
        end: date | str | None = None,
        *,
        batch_ids: Iterable[str] | None = None,
    ) -> list[Path]:
        """The Parquet files holding the lines with service_date in [start, end], oldest batch first.

        Only the month parts whose dates overlap the window are listed (a batch of the
        former layout is one file, listed whole); the lines of a listed file outside
        the window still have to be filtered out by the reader. Every file has
        :data:`ingest.load.PARQUET_SCHEMA`.

        Parameters
        ----------
        start, end : date or ISO string, optional
            Bounds on service_date; None leaves that side open.
        batch_ids : iterable of str, optional
            Only these batches (default every committed batch).

        Raises
        ------
        InputRefused
            An unknown batch id, or a bound that is not a date.
        """
        first = None if start is None else _as_date(start, "start").isoformat()
        last = None if end is None else _as_date(end, "end").isoformat()
        batches = self.batches()
        if batch_ids is not None:
            wanted = list(batch_ids)
            missing = sorted(set(wanted) - set(batches["batch_id"]))
            if missing:
                raise InputRefused(f"unknown batch id(s) {', '.join(missing)}")
            batches = batches[batches["batch_id"].isin(wanted)]
        parts: dict[str, list[str]] = {}
        for batch_id, name in self._conn.execute(
                "SELECT batch_id, part_name FROM claim_parts WHERE (? IS NULL OR max_service_date >= ?)"
                " AND (? IS NULL OR min_service_date <= ?) ORDER BY batch_id, month", (first, first, last, last)):
            parts.setdefault(batch_id, []).append(name)
        files = []
        for batch_id, name in zip(batches["batch_id"], batches["parquet_name"]):
            if name.endswith(".parquet"):
                files.append(self.claims_dir / name)
            else:
                files.extend(self.claims_dir / part for part in parts.get(batch_id, []))
        return files

    def batches(self) -> pd.DataFrame:
        """Committed batches, oldest first: batch_id, source_name, sha256 (of the source file),
        parquet_sha256, rows, loaded_at, min_service_date, max_service_date and more."""
        rows = self._conn.execute(f"SELECT {', '.join(_BATCH_COLUMNS)} FROM claim_batches ORDER BY loaded_at, batch_id")
        return pd.DataFrame([tuple(r) for r in rows], columns=_BATCH_COLUMNS)

    def loads(self) -> pd.DataFrame:
        """The reconciliation of every file load: read, loaded, quarantined, status, by_rule."""
        rows = self._conn.execute("SELECT * FROM claim_loads ORDER BY load_id")
        frame = pd.DataFrame([dict(r) for r in rows])
        if frame.empty:
            return pd.DataFrame(columns=["load_id", "source_name", "sha256", "source_format", "batch_id", "status",
                                         "read", "loaded", "quarantined", "by_rule_json", "started_at", "finished_at"])
        return frame

    def providers(self, *, matching: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Providers loaded from ``--providers`` files (contract "providers" columns), by id.

        Parameters
        ----------
        matching : str, optional
            Keep only providers whose id or name contains this text (any case).
        limit : int, optional
            Most providers returned; the table is streamed, so a search holds no more.
        """
        rows = self._conn.execute(f"SELECT {', '.join(PROVIDER_COLUMNS)} FROM providers ORDER BY provider_id")
        if matching is not None:
            wanted = matching.upper()
            at = PROVIDER_COLUMNS.index("name")
            rows = (r for r in rows if wanted in f"{r[0]} {r[at] or ''}".upper())
        frame = pd.DataFrame([tuple(r) for r in islice(rows, limit)], columns=list(PROVIDER_COLUMNS))
        for col in PROVIDER_COLUMNS:
            frame[col] = frame[col].astype("float64" if col in ("latitude", "longitude") else "string")
        return frame

    def provider(self, provider_id: str) -> dict[str, Any] | None:
        """One row of the providers file (contract "providers" columns), or None when it has none.

        Parameters
        ----------
        provider_id : str
            A provider's or doctor's id.
        """
        row = self._conn.execute(f"SELECT {', '.join(PROVIDER_COLUMNS)} FROM providers WHERE provider_id = ?",
                                 (provider_id,)).fetchone()
        return None if row is None else dict(zip(PROVIDER_COLUMNS, tuple(row)))

    def quarantine(self, *, source_name: str | None = None, reason: str | None = None) -> pd.DataFrame:
        """Rejected rows, optionally of one source file name and/or one reason code.

        ``raw_json`` holds the row's values exactly as read; ``line`` its line in the file.

        Parameters
        ----------
        source_name : str, optional
            Only rows of this file name.
        reason : str, optional
            Only rows with this reason code.
        """
        sql = f"SELECT {', '.join(_QUARANTINE_COLUMNS)} FROM quarantine WHERE 1=1"
        params: list = []
        if source_name is not None:
            sql += " AND source_name = ?"
            params.append(source_name)
        if reason is not None:
            sql += " AND reason = ?"
            params.append(reason.upper())
        rows = self._conn.execute(sql + " ORDER BY id", params)
        return pd.DataFrame([tuple(r) for r in rows], columns=_QUARANTINE_COLUMNS)

    def close(self) -> None:
        """Close the catalogue connection, unless it was lent."""
        if self._owns_conn:
            self._conn.close()

    def __enter__(self) -> ClaimsStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _loaded(self, sha256: str) -> bool:
        return self._conn.execute("SELECT 1 FROM claim_batches WHERE sha256 = ?", (sha256,)).fetchone() is not None

    def _load(self, source: Source, chunk_rows: int, progress: bool, after_chunk) -> object:
        try:
            return self._load_once(source, chunk_rows, progress, after_chunk)
        except RescanNeeded as exc:
            # what the checks made while reading met (a bad byte, a long line, a damaged stream) is
            # judged by the whole-file scan: it refuses the file or picks the reader its lines need
            log.info("%s", exc)
            return self._load_once(open_source(source.path), chunk_rows, progress, after_chunk)

    def _load_once(self, source: Source, chunk_rows: int, progress: bool, after_chunk) -> object:
        if not progress:
            return load_source(self._conn, self.claims_dir, source, chunk_rows=chunk_rows, after_chunk=after_chunk)
        # Imported only when a progress bar is shown: rich is slow to import and most loads run without one.
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task(source.name, total=source.size)
            return load_source(self._conn, self.claims_dir, source, chunk_rows=chunk_rows,
                               on_progress=lambda done: bar.update(task, completed=done), after_chunk=after_chunk)


def _as_date(value: date | str, what: str) -> date:
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise InputRefused(f"{what} {value!r}: expected a date YYYY-MM-DD") from None


def _typed(table: pa.Table) -> pd.DataFrame:
    # Text straight into Arrow-backed strings: no Python string per cell on the way.
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    columns = table.column_names
    out = {}
    for col in columns:
        dtype = CLAIM_DTYPES[col]
        values = frame[col]
        if dtype.startswith("datetime64"):
            values = pd.to_datetime(values)
        out[col] = values.astype(dtype)
    return pd.DataFrame(out, columns=columns)
