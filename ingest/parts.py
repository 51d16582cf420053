"""A batch as Parquet parts, one per service month, sorted so a few entities read a few row groups.

Layout of a batch loaded from one source file::

    HOME/claims/<batch_id>/2025-01.parquet   lines with service_date in January 2025
    HOME/claims/<batch_id>/2025-02.parquet
    HOME/claims/<batch_id>/keys.npy          the fingerprints of its (claim_id, line_no)

Each part is sorted by (provider_id, service_date, claim_id, line_no), an order that
does not depend on the order of the source file, and cut into row groups of
:data:`ROW_GROUP_ROWS` lines, whose min/max statistics let a reader skip what a filter
excludes: a 12-week window opens only the parts of its 3 or 4 months (the catalogue
lists each part's dates), and a ring's providers read about one row group per provider
and month. Batches of the former layout (one ``<batch_id>.parquet`` per file) are still
read, and are rewritten in this layout by the next ingest (:func:`ingest.load.migrate_batch`).

While a file loads, its valid lines go to one uncompressed Arrow IPC spill per month
in the batch's temporary folder (a plain append); :meth:`BatchWriter.finish` then reads
each spill memory-mapped, sorts it and writes the part. Memory: one chunk, the sort
indices of one month (8 bytes a line) and one row group at a time; the spill's pages
are the kernel's page cache, not the process's heap.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ground.files import create_private, private_dir
from ingest.read import file_sha256

__all__ = ["ROW_GROUP_ROWS", "Part", "BatchWriter", "month_of", "parts_digest", "sort_order"]

#: Lines per Parquet row group: large enough for scans (a few MB compressed per group),
#: small enough that one provider's lines of a month sit in one or two groups.
ROW_GROUP_ROWS = 131_072
#: Columns written with a Parquet dictionary: those with few distinct values. Dictionary
#: encoding the identifiers (millions of distinct values) costs CPU and saves nothing.
_DICTIONARY_COLUMNS = ["regime", "sex", "beneficiary_region", "provider_id", "provider_type",
                       "provider_region", "doctor_id", "doctor_specialty", "act_code", "act_family", "channel"]
#: Columns with min/max statistics per row group: what readers prune row groups on.
_STATISTICS_COLUMNS = ["provider_id", "service_date"]
#: LZ4: the cheapest to write and read of the usual codecs, files about a fifth larger than Snappy's here.
_COMPRESSION = "lz4"


@dataclass(frozen=True)
class Part:
    """One Parquet part of a batch: ``name`` relative to ``HOME/claims``."""

    name: str
    month: str
    rows: int
    min_service_date: str
    max_service_date: str
    sha256: str


def month_of(dates: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Months since 1970-01 (int64) of a date32 array (no nulls).

    Parameters
    ----------
    dates : Arrow date32 array
    """
    days = np.asarray(dates.cast(pa.int32()).to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    return days.astype("datetime64[M]").astype(np.int64)


def sort_order(table: pa.Table) -> np.ndarray:
    """Positions of the lines in (provider_id, service_date, claim_id, line_no) order.

    Each text key is replaced by the rank of its value among the distinct ones (the sort
    of a dictionary, not of every line), then NumPy sorts two packed integer keys, (provider,
    day) and (claim, line): the order of Arrow's four-key sort (the keys of loaded lines are
    distinct, so there are no ties), in about three quarters of its time on a national month.

    Parameters
    ----------
    table : pyarrow.Table
        Validated lines (no missing key).
    """
    if not table.num_rows:
        return np.zeros(0, dtype=np.int64)
    day = np.asarray(table.column("service_date").cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)
    line = np.asarray(table.column("line_no").to_numpy(zero_copy_only=False), dtype=np.int64)
    day -= day.min()
    if int(day.max()) >= 1 << 20 or int(line.max()) >= 1 << 24 or len(line) >= 1 << 39:
        return np.lexsort((line, _ranks(table.column("claim_id")), day, _ranks(table.column("provider_id"))))
    # packed in place, one key at a time: a few arrays of 8 bytes a line at most
    low = _ranks(table.column("claim_id"))
    low <<= 24
    low |= line
    del line
    high = _ranks(table.column("provider_id"))
    high <<= 20
    high |= day
    del day
    return np.lexsort((low, high))


def _ranks(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Each value's rank (0-based, in Arrow's order of strings) among the distinct values."""
    coded = pc.dictionary_encode(values)
    if isinstance(coded, pa.ChunkedArray):
        coded = coded.combine_chunks()
    rank = np.asarray(pc.rank(coded.dictionary, sort_keys="ascending", tiebreaker="first"), dtype=np.int64) - 1
    return rank[coded.indices.to_numpy(zero_copy_only=False)]


def parts_digest(parts: list[Part]) -> str:
    """SHA-256 of a batch's manifest (each part's name and SHA-256, one per line, by name).

    Parameters
    ----------
    parts : list of Part
    """
    lines = "".join(f"{p.name} {p.sha256}\n" for p in sorted(parts, key=lambda p: p.name))
    return hashlib.sha256(lines.encode()).hexdigest()


class BatchWriter:
    """Write one batch into a temporary folder, month by month; :meth:`publish` moves it into place.

    Parameters
    ----------
    claims_dir : Path
        ``HOME/claims``.
    batch_id : str
    schema : pyarrow.Schema
        The claims schema every part is written with.
    """

    def __init__(self, claims_dir: Path, batch_id: str, schema: pa.Schema):
        self.claims_dir = Path(claims_dir)
        self.batch_id = batch_id
        self.schema = schema
        self.folder = private_dir(self.claims_dir / f".{batch_id}.{os.getpid()}.tmp")
        self._spills: dict[int, tuple[Path, pa.ipc.RecordBatchFileWriter, pa.NativeFile]] = {}

    def write(self, table: pa.Table) -> None:
        """Append valid lines (any months) to their months' spills.

        Parameters
        ----------
        table : pyarrow.Table
            Lines with ``schema``.
        """
        if not table.num_rows:
            return
        months = month_of(table.column("service_date"))
        first = months[0]
        if (months == first).all():
            self._spill(int(first)).write_table(table)
            return
        order = np.argsort(months, kind="stable")
        ordered = months[order]
        bounds = np.flatnonzero(np.diff(ordered)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(order)]):
            self._spill(int(ordered[lo])).write_table(table.take(pa.array(order[lo:hi])))

    def finish(self) -> list[Part]:
        """Sort each month's spill into its Parquet part; return the parts, oldest month first."""
        parts = []
        for month in sorted(self._spills):
            path, writer, sink = self._spills.pop(month)
            writer.close()
            sink.close()
            parts.append(self._write_part(month, path))
            os.unlink(path)
        return parts

    def publish(self) -> str:
        """Move the folder to ``claims/<batch_id>`` (one rename); returns that name."""
        os.replace(self.folder, self.claims_dir / self.batch_id)
        return self.batch_id

    def abort(self) -> None:
        """Close the spills and remove the temporary folder."""
        for _, writer, sink in self._spills.values():
            try:
                writer.close()
            finally:
                sink.close()
        self._spills.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _spill(self, month: int) -> pa.ipc.RecordBatchFileWriter:
        if month not in self._spills:
            path = create_private(self.folder / f"{_month_name(month)}.arrow")
            sink = pa.OSFile(str(path), "wb")
            self._spills[month] = (path, pa.ipc.new_file(sink, self.schema), sink)
        return self._spills[month][1]

    def _write_part(self, month: int, spill: Path) -> Part:
        name = f"{_month_name(month)}.parquet"
        target = create_private(self.folder / name)
        with pa.memory_map(str(spill)) as source:
            table = pa.ipc.open_file(source).read_all()
            order = pa.array(sort_order(table))
            span = pc.min_max(table.column("service_date"))
            rows = table.num_rows
            with pq.ParquetWriter(str(target), self.schema, compression=_COMPRESSION,
                                  use_dictionary=[c for c in _DICTIONARY_COLUMNS if c in self.schema.names],
                                  write_statistics=[c for c in _STATISTICS_COLUMNS if c in self.schema.names]) as writer:
                # one row group gathered at a time: the month in one gather took as much CPU
                # (measured on the national window) and a month of heap more
                for start in range(0, len(order), ROW_GROUP_ROWS):
                    writer.write_table(table.take(order.slice(start, ROW_GROUP_ROWS)), row_group_size=ROW_GROUP_ROWS)
            del table, order
        return Part(name=f"{self.batch_id}/{name}", month=_month_name(month), rows=rows,
                    min_service_date=span["min"].as_py().isoformat(), max_service_date=span["max"].as_py().isoformat(),
                    sha256=file_sha256(target))


def _month_name(month: int) -> str:
    return str(np.datetime64(month, "M"))
