"""Claims with their text columns dictionary-encoded: integer codes plus one sorted lookup table.

A national window holds millions of lines but only hundreds of thousands of patients,
tens of thousands of providers and a dozen regions. Held as Python strings, every id
cell costs about 60 bytes and every group-by hashes text; encoded once per window, a
cell is a 1-4 byte code into a lookup table of the distinct values, and group-bys,
joins and masks work on the codes. The tables are sorted, so ordering by code is
ordering by id: results sorted on an encoded column are those sorted on the text.

The encoding is pandas' ``Categorical`` (codes plus ``categories``): detectors written
for text columns read it unchanged, and strings come back only for the rows a caller
shows or writes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.schema import CLAIM_DTYPES

__all__ = ["ENCODED_COLUMNS", "encode_claims", "encoded_frame", "sorted_categorical"]

#: The claim columns held as codes: every text column of the contract.
ENCODED_COLUMNS: tuple[str, ...] = tuple(c for c, dtype in CLAIM_DTYPES.items() if dtype == "string")


def encode_claims(claims: pd.DataFrame) -> pd.DataFrame:
    """``claims`` with each text column of :data:`ENCODED_COLUMNS` as a sorted Categorical.

    Columns already encoded are kept as they are (no copy), so calling it twice costs
    nothing; other columns are kept unchanged.

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
        if col in ENCODED_COLUMNS and not isinstance(values.dtype, pd.CategoricalDtype):
            values = pd.Series(sorted_categorical(_arrow_strings(values)), index=claims.index, name=col)
        out[col] = values
    return pd.DataFrame(out, index=claims.index, columns=claims.columns)


def encoded_frame(table: pa.Table) -> pd.DataFrame:
    """A claims Arrow table as a DataFrame: text columns encoded, others with ``CLAIM_DTYPES``.

    The text never becomes Python strings: Arrow builds the dictionary, which is
    sorted and turned into the lookup table.
    """
    out = {}
    for name in table.column_names:
        column = table.column(name)
        dtype = CLAIM_DTYPES[name]
        if name in ENCODED_COLUMNS:
            out[name] = sorted_categorical(column)
            continue
        values = column.to_pandas()
        if dtype.startswith("datetime64"):
            values = pd.to_datetime(values)
        out[name] = values.astype(dtype)
    return pd.DataFrame(out, columns=table.column_names)


def _arrow_strings(values: pd.Series) -> pa.Array:
    """Arrow strings of a text Series, without Python strings when it is Arrow-backed already."""
    array = pa.array(values, from_pandas=True)
    return array if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) \
        else array.cast(pa.string())


def sorted_categorical(values: pa.Array | pa.ChunkedArray) -> pd.Categorical:
    """Dictionary-encode Arrow strings into a Categorical whose categories are sorted.

    Nulls become the missing code -1.
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
