"""Claims held compactly for detection: coded columns as integer codes, ids as Arrow strings.

A national window holds millions of lines. Held as Python strings (what ``astype(object)``
gives), every text cell costs about 60 bytes and every group-by hashes Python objects.
Here, once per window:

- the coded columns of few distinct values (regime, regions, provider type, specialty,
  act code and family, channel, sex) become pandas ``Categorical``: 1-2 byte codes into one
  sorted lookup table per column;
- the identifiers (claim, beneficiary, household, provider, doctor, and the contact
  identifiers) stay in Arrow string buffers (pandas' ``str`` dtype, about 12 bytes a cell),
  which pandas factorizes through Arrow; the sparse projections and graph steps turn them
  into int32 codes with one lookup table per entity type where they need numbers.

Identifiers are not ``Categorical``: measured with pandas 3, a group-by on a categorical
key recodes the whole lookup table, so grouping a 300-line slice of a window with 500,000
patients took 0.6 s against 3 ms for Arrow strings, and the per-ring and per-component
loops of the detectors do thousands of such group-bys.

Sorted lookup tables keep ordering by code equal to ordering by text, and missing values
compare unequal to everything (NaN semantics), as Python ``None`` did, so detectors read
either form unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.schema import CLAIM_DTYPES

__all__ = ["CODED_COLUMNS", "ID_COLUMNS", "IdCodes", "IdPairs", "encode_claims", "encoded_frame", "id_codes",
           "release_unused_memory", "sorted_categorical"]

#: Text columns of few distinct values, held as Categorical codes.
CODED_COLUMNS: tuple[str, ...] = ("regime", "sex", "beneficiary_region", "provider_type", "provider_region",
                                  "doctor_specialty", "act_code", "act_family", "channel")
#: Identifier columns, held as Arrow strings with NaN for missing.
ID_COLUMNS: tuple[str, ...] = tuple(c for c, dtype in CLAIM_DTYPES.items()
                                    if dtype == "string" and c not in CODED_COLUMNS)


def encode_claims(claims: pd.DataFrame) -> pd.DataFrame:
    """``claims`` with :data:`CODED_COLUMNS` as sorted Categoricals and :data:`ID_COLUMNS` as Arrow strings.

    Columns already in that form are kept as they are (no copy), so calling it twice
    costs nothing; other columns are kept unchanged.

    Parameters
    ----------
    claims : DataFrame
        Claims per the claims contract (any subset of its columns).

    Returns
    -------
    DataFrame
        Same index, same columns in the same order.
    """
    out = {}
    for col in claims.columns:
        values = claims[col]
        if col in CODED_COLUMNS and not isinstance(values.dtype, pd.CategoricalDtype):
            values = pd.Series(sorted_categorical(_arrow_strings(values)), index=claims.index, name=col)
        elif col in ID_COLUMNS:
            values = _one_chunk(values if values.dtype == _ID_DTYPE else values.astype(_ID_DTYPE))
        out[col] = values
    return pd.DataFrame(out, index=claims.index, columns=claims.columns, copy=False)


def encoded_frame(table: pa.Table) -> pd.DataFrame:
    """A claims Arrow table as the DataFrame of :func:`encode_claims`, others with ``CLAIM_DTYPES``.

    The text never becomes Python strings: Arrow builds the coded columns' dictionaries,
    and identifiers keep their Arrow buffers.

    Parameters
    ----------
    table
        Claims with the contract's columns (any subset), as read from the store.
    """
    out = {}
    for name in table.column_names:
        column = table.column(name)
        dtype = CLAIM_DTYPES[name]
        if name in CODED_COLUMNS:
            out[name] = sorted_categorical(column)
            continue
        if name in ID_COLUMNS:
            if column.type != pa.string():
                column = column.cast(pa.string())
            out[name] = _one_chunk(column.to_pandas(types_mapper={pa.string(): _ID_DTYPE}.get))
            continue
        values = column.to_pandas()
        if dtype.startswith("datetime64"):
            values = pd.to_datetime(values)
        out[name] = values.astype(dtype)
    return pd.DataFrame(out, columns=table.column_names, copy=False)


_ID_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def _one_chunk(values: pd.Series) -> pd.Series:
    """Arrow strings held in one contiguous chunk (the same Series when they already are).

    pyarrow's ``take`` on a column of many chunks (one per row group read) concatenates
    them all first, so every row selection of a window (a ring's lines, one provider's)
    cost time in proportion to the whole window: 4 ms for 1,000 rows of a 2M-line column
    in 16 chunks, against 0.1 ms in one (pyarrow 26). Combining once per window makes
    a selection cost its own size.
    """
    chunked = getattr(values.array, "_pa_array", None)
    if not isinstance(chunked, pa.ChunkedArray) or chunked.num_chunks <= 1:
        return values
    return pd.Series(pd.array(pa.chunked_array([chunked.combine_chunks()]), dtype=values.dtype),
                     index=values.index, name=values.name)


def _arrow_strings(values: pd.Series) -> pa.Array:
    """Arrow strings of a text Series, without Python strings when it is Arrow-backed already."""
    array = pa.array(values, from_pandas=True)
    return array if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) \
        else array.cast(pa.string())


def sorted_categorical(values: pa.Array | pa.ChunkedArray) -> pd.Categorical:
    """Dictionary-encode Arrow strings into a Categorical whose categories are sorted.

    Nulls become the missing code -1.

    Parameters
    ----------
    values
        Arrow string array or chunked array; nulls stay missing.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    encoded = pc.dictionary_encode(values)
    dictionary = encoded.dictionary
    order = pc.array_sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    codes = np.where(indices >= 0, rank[np.maximum(indices, 0)], -1) if len(rank) else indices
    categories = pd.Index(dictionary.take(pa.array(order)).to_pandas(), dtype="str")
    return pd.Categorical.from_codes(codes, categories=categories, validate=False)


def id_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of an identifier column and its sorted lookup table.

    Code ``k`` is the ``k``-th identifier in sorted order, so grouping on the codes gives
    the groups in the order a sorted group-by on the text does; missing values get -1.

    Parameters
    ----------
    values : Series
        Identifiers (Arrow strings or Python objects).

    Returns
    -------
    codes : ndarray of int32
    lookup : Index
        The distinct identifiers, sorted, as text.
    """
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int32, copy=False), pd.Index(uniques, dtype="str")


class IdCodes:
    """:func:`id_codes` of a frame's columns, each made once, when first asked for.

    Detection steps that group lines by an identifier share one factorization of it per
    window instead of hashing the text at every group-by.

    Parameters
    ----------
    frame : DataFrame
        The lines; its identifier columns must not be replaced afterwards.
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._made: dict[str, tuple[np.ndarray, pd.Index]] = {}
        self._sorted: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """The codes and lookup table of ``column`` (see :func:`id_codes`)."""
        if column not in self._made:
            self._made[column] = id_codes(self.frame[column])
        return self._made[column]

    def groups(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """The lines sorted by the column's codes, stably, and where each code's lines start.

        Parameters
        ----------
        column : str
            An identifier column.

        Returns
        -------
        order : ndarray
            Line positions; the lines of code ``k`` are ``order[starts[k]:starts[k + 1]]``, in line order.
        starts : ndarray
            One more entry than the lookup table (lines with a missing id come first, before ``starts[0]``).
        """
        if column not in self._sorted:
            codes, lookup = self(column)
            order = np.argsort(codes, kind="stable").astype(np.int32 if len(codes) < 2**31 else np.int64)
            self._sorted[column] = (order, np.searchsorted(codes[order], np.arange(len(lookup) + 1)))
        return self._sorted[column]

    def rows(self, column: str, ids) -> np.ndarray:
        """Positions of the lines whose ``column`` is one of ``ids``, in line order.

        The lines are sorted by the column's codes once (a stable sort), so each call costs the
        lines it returns, not a scan of the window: a detector's per-entity loop selects rows
        thousands of times.

        Parameters
        ----------
        column : str
            An identifier column.
        ids : iterable of str
            The identifiers wanted (unknown ones select nothing).
        """
        lookup = self(column)[1]
        order, starts = self.groups(column)
        wanted = lookup.get_indexer(pd.Index(list(ids), dtype="str"))
        wanted = np.unique(wanted[wanted >= 0])
        if not len(wanted):
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate([order[starts[k]:starts[k + 1]] for k in wanted]).astype(np.int64))


class IdPairs:
    """A set of (a, b) identifier pairs, a < b, held as int64 keys into one sorted lookup table.

    Behaves as the set of string tuples it stands for (``in``, ``len``, iteration in sorted
    order), at 8 bytes a pair instead of a Python tuple of two strings (about 220 bytes).

    Parameters
    ----------
    lookup : Index
        Sorted distinct identifiers (an :class:`IdCodes` lookup table).
    low, high : ndarray of int
        Codes of each pair's ends, ``low < high``; repeated pairs count once.
    """

    def __init__(self, lookup: pd.Index, low: np.ndarray, high: np.ndarray):
        self.lookup = lookup
        self._width = max(len(lookup), 1)
        self.keys = np.unique(np.sort(np.asarray(low, np.int64) * self._width + np.asarray(high, np.int64)))

    def __contains__(self, pair: object) -> bool:
        try:
            a, b = pair
            ia, ib = self.lookup.get_loc(a), self.lookup.get_loc(b)
        except (KeyError, TypeError, ValueError):
            return False
        if not isinstance(ia, (int, np.integer)) or not isinstance(ib, (int, np.integer)) or ia >= ib:
            return False
        key = int(ia) * self._width + int(ib)
        at = int(np.searchsorted(self.keys, key))
        return at < len(self.keys) and int(self.keys[at]) == key

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self):
        return iter(zip(self.lookup[self.keys // self._width].tolist(), self.lookup[self.keys % self._width].tolist()))


def release_unused_memory() -> None:
    """Give the memory freed since the last call back to the system.

    Arrow's allocator (mimalloc) and the C library's keep freed blocks for reuse, so a step's
    temporaries stay in the process's resident memory, and the next step's peak stacks on them:
    after the prescription pairs of 2M lines, 360 MB of 530 were such blocks. Called between
    detection steps; the values held are untouched.
    """
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    """The C library when it is glibc (``malloc_trim``), else None."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()
