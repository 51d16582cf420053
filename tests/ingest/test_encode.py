"""Encoded claims: codes with sorted lookup tables, ids as Arrow strings, the same values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ingest.encode import CODED_COLUMNS, ID_COLUMNS, IdCodes, IdPairs, encode_claims, encoded_frame, id_codes, sorted_categorical


def test_sorted_categorical_keeps_values_and_sorts_its_lookup_table():
    values = pa.array(["P9", None, "P10", "P9", "A1"])
    cat = sorted_categorical(values)
    assert list(cat.categories) == ["A1", "P10", "P9"]
    assert cat.codes.tolist() == [2, -1, 1, 2, 0]
    assert pd.Series(cat).astype(object).where(pd.Series(cat).notna(), None).tolist() == values.to_pylist()


def test_sorted_categorical_of_chunked_and_dictionary_arrays():
    chunked = pa.chunked_array([["b", "a"], ["c", None, "a"]])
    assert sorted_categorical(chunked).codes.tolist() == [1, 0, 2, -1, 0]
    assert sorted_categorical(chunked.combine_chunks().dictionary_encode()).codes.tolist() == [1, 0, 2, -1, 0]


def test_encode_claims_holds_codes_and_arrow_strings_with_the_same_values(tiny_claims):
    encoded = encode_claims(tiny_claims)
    assert list(encoded.columns) == list(tiny_claims.columns)
    for col in tiny_claims.columns:
        if col in CODED_COLUMNS:
            assert isinstance(encoded[col].dtype, pd.CategoricalDtype)
            assert encoded[col].cat.categories.is_monotonic_increasing
        elif col in ID_COLUMNS:
            assert encoded[col].dtype == pd.StringDtype("pyarrow", na_value=np.nan)
        else:
            assert encoded[col].dtype == tiny_claims[col].dtype
        same = encoded[col].astype(object).where(encoded[col].notna(), None)
        assert same.tolist() == tiny_claims[col].astype(object).where(tiny_claims[col].notna(), None).tolist(), col


def test_encode_claims_twice_changes_nothing(tiny_claims):
    once = encode_claims(tiny_claims)
    twice = encode_claims(once)
    pd.testing.assert_frame_equal(once, twice)
    assert twice["regime"].cat.categories is once["regime"].cat.categories


def test_missing_values_compare_unequal_to_everything(tiny_claims):
    claims = tiny_claims.copy()
    claims.loc[0, "doctor_id"] = pd.NA
    claims.loc[1, "regime"] = pd.NA
    encoded = encode_claims(claims)
    assert not bool((encoded["doctor_id"] == encoded["doctor_id"]).iloc[0])
    assert (encoded["regime"] == "TADAMON").dtype == bool
    assert not bool((encoded["regime"] == "TADAMON").iloc[1])


def test_encoded_frame_from_arrow_equals_encode_claims(tiny_claims):
    table = pa.Table.from_pandas(tiny_claims, preserve_index=False)
    pd.testing.assert_frame_equal(encoded_frame(table), encode_claims(tiny_claims), check_categorical=True)


def test_encoded_identifiers_are_held_in_one_chunk_with_the_same_values(tiny_claims):
    # A table read in several row groups gives columns of several chunks; selecting rows of such a column
    # concatenates every chunk first, so encoding joins them once.
    table = pa.Table.from_pandas(tiny_claims, preserve_index=False)
    table = pa.concat_tables([table.slice(0, 3), table.slice(3)])
    for frame in (encoded_frame(table), encode_claims(table.to_pandas(types_mapper={pa.string(): pd.StringDtype(
            "pyarrow")}.get))):
        for col in ID_COLUMNS:
            if col in frame:
                assert frame[col].array._pa_array.num_chunks == 1, col
                assert frame[col].astype(object).where(frame[col].notna(), None).tolist() == \
                    tiny_claims[col].astype(object).where(tiny_claims[col].notna(), None).tolist(), col


def test_id_codes_number_ids_in_sorted_order_with_minus_one_for_missing():
    for values in (pd.Series(["P9", None, "P10", "P9", "A1"], dtype=object),
                   encode_claims(pd.DataFrame({"provider_id": ["P9", None, "P10", "P9", "A1"]}))["provider_id"]):
        codes, lookup = id_codes(values)
        assert codes.dtype == np.int32
        assert list(lookup) == ["A1", "P10", "P9"]
        assert codes.tolist() == [2, -1, 1, 2, 0]


def test_id_code_rows_are_a_scan_of_the_column_in_line_order():
    rng = np.random.default_rng(0)
    ids = pd.Series(rng.choice(["P1", "P2", "P10", None], size=500), dtype=object)
    codes = IdCodes(pd.DataFrame({"provider_id": ids}))
    for wanted in ({"P2"}, {"P1", "P10"}, {"P3"}, set(), {"P10", "P3"}):
        expected = np.flatnonzero(ids.isin(wanted).to_numpy())
        assert codes.rows("provider_id", wanted).tolist() == expected.tolist()
    assert codes("provider_id") is codes("provider_id")


def test_id_pairs_behave_as_the_set_of_ordered_string_pairs():
    lookup = pd.Index(["A1", "B2", "C3", "D4"], dtype="str")
    pairs = IdPairs(lookup, np.array([0, 1, 0, 2]), np.array([3, 2, 3, 3]))
    expected = {("A1", "D4"), ("B2", "C3"), ("C3", "D4")}
    assert set(pairs) == expected and len(pairs) == 3 and list(pairs) == sorted(expected)
    assert ("B2", "C3") in pairs
    assert ("C3", "B2") not in pairs and ("A1", "B2") not in pairs and ("A1", "Z9") not in pairs
    assert not IdPairs(lookup, np.zeros(0, int), np.zeros(0, int))
