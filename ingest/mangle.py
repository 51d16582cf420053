"""Mangled claim files, for fuzzing ingest (``bench/fuzz_ingest.py`` and the test suite).

:func:`mangled_files` turns one valid claims frame into a stream of damaged files,
one mangling (or two stacked) per file, seeded so a failure can be replayed:
truncation, byte flips, wrong encodings, BOM, CRLF and CR-only line endings, quoted
newlines, extra, missing and duplicated columns, huge fields, overlong ids,
corrupt gzip, bit-flipped Parquet and Parquet with wrong column types. Whatever
the damage, ingest must load the file (each row loaded or quarantined) or refuse
it with :class:`ground.errors.InputRefused`; anything else is a bug.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.schema import CLAIM_COLUMNS, REQUIRED_CLAIM_COLUMNS

__all__ = ["MANGLINGS", "Mangled", "mangled_files", "contract_csv"]


@dataclass(frozen=True)
class Mangled:
    """One damaged file: its name (suffix tells the format), bytes, and what was done to it."""

    name: str
    data: bytes
    kinds: tuple[str, ...]


def contract_csv(claims: pd.DataFrame) -> str:
    """Contract claims as contract CSV text (dates YYYY-MM-DD, booleans true/false, LF endings).

    Parameters
    ----------
    claims
        Claims with the contract's columns.
    """
    out = claims.copy()
    for col in ("service_date", "submission_date"):
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    if out["ald"].dtype == "boolean" or out["ald"].dtype == bool:
        out["ald"] = out["ald"].map({True: "true", False: "false"})
    return out.to_csv(index=False, lineterminator="\n")


def _truncate(text: str, rng: random.Random) -> bytes:
    data = text.encode("utf-8")
    return data[: rng.randrange(0, len(data))]


def _flip_bytes(text: str, rng: random.Random) -> bytes:
    data = bytearray(text.encode("utf-8"))
    for _ in range(rng.choice((1, 2, 8, 64))):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


def _encoding(text: str, rng: random.Random) -> bytes:
    accented = text.replace("MEDECINE", "MÉDECINE").replace("CHIRURGIE", "CHIRURGIE_Œ")
    codec = rng.choice(("latin-1", "cp1252", "utf-16", "utf-16-le", "cp1256", "utf-32"))
    return accented.encode(codec, errors="replace")


def _bom(text: str, rng: random.Random) -> bytes:
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def _crlf(text: str, rng: random.Random) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def _cr_only(text: str, rng: random.Random) -> bytes:
    return text.replace("\n", "\r").encode("utf-8")


def _rows(text: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    return header, rows


def _write(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().encode("utf-8")


def _quoted_newlines(text: str, rng: random.Random) -> bytes:
    header, rows = _rows(text)
    col = header.index(rng.choice(("doctor_specialty", "act_code", "provider_id", "claim_id")))
    for row in rng.sample(rows, k=max(1, len(rows) // 4)):
        row[col] = row[col][:2] + rng.choice(("\n", "\r\n", "\n\n", "\r")) + row[col][2:]
    return _write(header, rows)


def _extra_columns(text: str, rng: random.Random) -> bytes:
    header, rows = _rows(text)
    extra = rng.randrange(1, 4)
    header = header + [f"extra_{i}" for i in range(extra)]
    rows = [row + [f"x{i}" for i in range(extra)] for row in rows]
    if rng.random() < 0.5:  # some rows with more fields than the header
        for row in rng.sample(rows, k=max(1, len(rows) // 5)):
            row.append("surplus")
        return "\n".join(",".join(r) for r in [header, *rows]).encode("utf-8") + b"\n"
    return _write(header, rows)


def _missing_columns(text: str, rng: random.Random) -> bytes:
    header, rows = _rows(text)
    pool = list(CLAIM_COLUMNS) if rng.random() < 0.5 else [c for c in CLAIM_COLUMNS if c not in REQUIRED_CLAIM_COLUMNS]
    drop = set(rng.sample(pool, k=rng.randrange(1, 4)))
    keep = [i for i, c in enumerate(header) if c not in drop]
    rows = [[row[i] for i in keep] for row in rows]
    if rng.random() < 0.5:  # some rows with fewer fields than the header
        for row in rng.sample(rows, k=max(1, len(rows) // 5)):
            row.pop()
    return "\n".join(",".join(r) for r in [[header[i] for i in keep], *rows]).encode("utf-8") + b"\n"


def _duplicated_columns(text: str, rng: random.Random) -> bytes:
    header, rows = _rows(text)
    i = rng.randrange(len(header))
    header = header + [header[i].upper() if rng.random() < 0.5 else header[i]]
    rows = [row + [row[i]] for row in rows]
    return "\n".join(",".join(r) for r in [header, *rows]).encode("utf-8") + b"\n"


def _huge_field(text: str, rng: random.Random, size: int) -> bytes:
    header, rows = _rows(text)
    col = rng.randrange(len(header))
    row = rng.randrange(len(rows))
    rows[row][col] = rng.choice("AZ9é") * size
    return _write(header, rows)


def _long_id(text: str, rng: random.Random) -> bytes:
    header, rows = _rows(text)
    col = header.index(rng.choice(("claim_id", "beneficiary_id", "provider_id", "doctor_id", "contact_phone")))
    for row in rng.sample(rows, k=max(1, len(rows) // 10)):
        row[col] = row[col] + "X" * rng.choice((65, 300, 5000))
    return _write(header, rows)


def _corrupt_gzip(data: bytes, rng: random.Random) -> bytes:
    packed = bytearray(gzip.compress(data, mtime=0))
    how = rng.choice(("truncate", "flip", "trailing", "header"))
    if how == "truncate":
        return bytes(packed[: rng.randrange(2, len(packed))])
    if how == "flip":
        for _ in range(rng.choice((1, 4))):
            i = rng.randrange(10, len(packed))
            packed[i] ^= 1 << rng.randrange(8)
        return bytes(packed)
    if how == "trailing":
        return bytes(packed) + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    packed[rng.randrange(0, 10)] ^= 0xFF
    return bytes(packed)


def _parquet(frame: pd.DataFrame, rng: random.Random, *, wrong_types: bool) -> bytes:
    table = pa.Table.from_pandas(frame.astype(str), preserve_index=False)
    if wrong_types:
        col = rng.choice(list(frame.columns))
        kind = rng.choice(("int", "float", "bool", "binary", "list", "struct", "timestamp", "null"))
        n = table.num_rows
        values = {
            "int": pa.array([rng.randrange(-5, 10**6) for _ in range(n)], pa.int64()),
            "float": pa.array([rng.random() * 1e6 if rng.random() < 0.9 else float("nan") for _ in range(n)]),
            "bool": pa.array([rng.random() < 0.5 for _ in range(n)]),
            "binary": pa.array([bytes([rng.randrange(256)]) * 3 for _ in range(n)], pa.binary()),
            "list": pa.array([[1, 2]] * n, pa.list_(pa.int64())),
            "struct": pa.array([{"a": 1}] * n),
            "timestamp": pa.array([pd.Timestamp("2025-03-03 10:00")] * n, pa.timestamp("us")),
            "null": pa.nulls(n),
        }[kind]
        table = table.set_column(table.column_names.index(col), col, values)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    data = bytearray(buf.getvalue())
    if not wrong_types:
        for _ in range(rng.choice((1, 2, 8, 64))):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


#: Every kind of damage :func:`mangled_files` applies.
MANGLINGS: tuple[str, ...] = (
    "truncate", "flip_bytes", "encoding", "bom", "crlf", "cr_only", "quoted_newlines", "extra_columns",
    "missing_columns", "duplicated_columns", "huge_field", "long_id", "corrupt_gzip", "parquet_flipped",
    "parquet_wrong_types",
)
_TEXT = {"truncate": _truncate, "flip_bytes": _flip_bytes, "encoding": _encoding, "bom": _bom, "crlf": _crlf,
         "cr_only": _cr_only, "quoted_newlines": _quoted_newlines, "extra_columns": _extra_columns,
         "missing_columns": _missing_columns, "duplicated_columns": _duplicated_columns, "long_id": _long_id}


def mangled_files(claims: pd.DataFrame, n: int, *, seed: int = 0, huge_size: int = 10 << 20,
                  kinds: tuple[str, ...] = MANGLINGS) -> Iterator[Mangled]:
    """Yield ``n`` damaged files made from ``claims`` (contract dtypes), cycling through ``kinds``.

    Each file takes a random slice of the claims (so keys differ from file to file),
    one kind of damage, and one time in four a second one stacked on it (text kinds).

    Parameters
    ----------
    claims : DataFrame
        Valid claims with the contract's columns.
    n : int
        Files to make.
    seed : int
        Same seed, same files.
    huge_size : int
        Characters of the one field a ``huge_field`` file holds (10 MiB by default).
    kinds : tuple of str
        Which of :data:`MANGLINGS` to use.
    """
    rng = random.Random(seed)
    header, *lines = contract_csv(claims).splitlines()
    if header.split(",", 1)[0] != "claim_id":
        raise ValueError("claims must have claim_id as their first column")
    for i in range(n):
        kind = kinds[i % len(kinds)]
        start = rng.randrange(0, max(1, len(lines) - 5))
        # Each file gets its own claim ids, so its rows are new to the store.
        part = [line.replace(",", f"-F{seed}-{i},", 1) for line in lines[start:start + rng.randrange(5, 60)]]
        text = "\n".join([header, *part]) + "\n"
        applied = [kind]
        if kind == "parquet_flipped" or kind == "parquet_wrong_types":
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            yield Mangled(f"f{i:05d}.parquet", _parquet(frame, rng, wrong_types=kind == "parquet_wrong_types"),
                          (kind,))
            continue
        if kind == "corrupt_gzip":
            yield Mangled(f"f{i:05d}.csv.gz", _corrupt_gzip(text.encode("utf-8"), rng), (kind,))
            continue
        if kind == "huge_field":
            data = _huge_field(text, rng, huge_size)
        else:
            data = _TEXT[kind](text, rng)
        if rng.random() < 0.25 and kind not in ("encoding", "huge_field"):
            second = rng.choice(("truncate", "flip_bytes", "crlf", "cr_only", "bom"))
            try:
                data = _TEXT[second](data.decode("utf-8"), rng)
                applied.append(second)
            except UnicodeDecodeError:
                pass
        if rng.random() < 0.15:
            yield Mangled(f"f{i:05d}.csv.gz", gzip.compress(data, mtime=0), (*applied, "gzip"))
        else:
            yield Mangled(f"f{i:05d}.csv", data, tuple(applied))
