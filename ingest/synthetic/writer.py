"""Writing generated data: contract dtypes in memory, and byte-reproducible files.

Claims go to ``claims.csv.gz`` chunk by chunk through pyarrow's CSV writer into a
gzip stream with mtime 0 and no file name, so the same seed gives the same bytes.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES

__all__ = ["to_contract_dtypes", "ClaimsCsvWriter", "write_small_csv"]

_INT_NA = ("birth_year", "stay_days")


def to_contract_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast the builder's raw columns to :data:`ingest.schema.CLAIM_DTYPES` (negative stays become NA)."""
    out = {}
    for col, dtype in CLAIM_DTYPES.items():
        values = frame[col]
        if col in _INT_NA:
            arr = values.to_numpy(dtype=np.int64)
            out[col] = pd.array(np.where(arr < 0, 0, arr), dtype="Int64")
            out[col][arr < 0] = pd.NA
        else:
            out[col] = values.astype(dtype)
    return pd.DataFrame(out, columns=list(CLAIM_COLUMNS))


_SCHEMA = pa.schema([
    (c, pa.date32() if CLAIM_DTYPES[c].startswith("datetime") else
     pa.int64() if CLAIM_DTYPES[c] in ("int64", "Int64") else
     pa.decimal128(14, 2) if CLAIM_DTYPES[c] == "float64" else pa.string())
    for c in CLAIM_COLUMNS
])


def _arrow(frame: pd.DataFrame) -> pa.Table:
    arrays = []
    for field in _SCHEMA:
        col = frame[field.name]
        if field.name == "ald":
            arrays.append(pa.array(np.where(col.to_numpy(dtype=bool), "true", "false")))
        elif field.name in _INT_NA:
            arr = col.to_numpy(dtype=np.int64)
            arrays.append(pa.array(arr, mask=arr < 0))
        elif pa.types.is_date32(field.type):
            arrays.append(pa.array(col.to_numpy().astype("datetime64[D]")))
        elif pa.types.is_decimal(field.type):
            arrays.append(pa.array(col.to_numpy(dtype=np.float64)).cast(field.type, safe=False))
        elif pa.types.is_int64(field.type):
            arrays.append(pa.array(col.to_numpy(dtype=np.int64)))
        else:
            arrays.append(pa.array(col.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=_SCHEMA)


class ClaimsCsvWriter:
    """Append claim chunks (raw builder frames) to a gzip CSV; use as a context manager."""

    def __init__(self, path: Path, compresslevel: int = 6) -> None:
        self.path = Path(path)
        self._raw = open(self.path, "wb")
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=compresslevel)
        self._csv = pacsv.CSVWriter(self._gz, _SCHEMA, write_options=pacsv.WriteOptions(quoting_style="needed"))
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of one chunk."""
        self._csv.write_table(_arrow(frame))
        self.rows += len(frame)

    def close(self) -> None:
        """Flush and close the CSV, gzip and file streams."""
        self._csv.close()
        self._gz.close()
        self._raw.close()

    def __enter__(self) -> ClaimsCsvWriter:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def write_small_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a providers or labels table as plain UTF-8 CSV with ``\\n`` line ends."""
    frame.to_csv(path, index=False, lineterminator="\n")
