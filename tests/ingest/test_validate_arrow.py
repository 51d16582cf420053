"""Validation on Arrow tables: same outcome as on DataFrames, no crash on odd digits or dates."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ingest.validate import ARROW_SCHEMA, table_of_strings, validate_claims, validate_table


@pytest.mark.parametrize("column, value, reason", [
    ("quantity", "\u0663", "BAD_QUANTITY"),
    ("line_no", "\u0661\u0662", "BAD_INT"),
    ("service_date", "1500-01-01", "BAD_DATE"),
    ("submission_date", "2262-04-12", "BAD_DATE"),
    ("service_date", "2024-02-30", "BAD_DATE"),
])
def test_non_ascii_digits_and_dates_outside_the_readable_range_are_quarantined(raw_claims, column, value, reason):
    result = validate_table(table_of_strings(raw_claims(rows=4, row=2, **{column: value})))
    assert result.issues["pos"].tolist() == [2]
    assert result.issues["reason"].iat[0] == reason
    assert result.valid.num_rows == 3


def test_arrow_and_pandas_validation_agree_and_valid_rows_have_the_parquet_schema(raw_claims):
    raw = raw_claims(rows=4, row=2, regime=" tns ", amount_claimed="-0.5", ald="yes")
    raw.loc[0, "submission_date"] = "2025-2-28"
    table = validate_table(table_of_strings(raw))
    frame = validate_claims(raw)
    assert table.valid.schema == ARROW_SCHEMA
    assert table.issues.equals(frame.issues)
    assert table.valid_pos.tolist() == frame.valid_pos.tolist() == [1, 3]
    assert table.issues["message"].tolist() == [
        "submission_date: expected a date YYYY-MM-DD; submission_date: before service_date",
        "amount_claimed: expected an amount >= 0",
    ]


def test_sliced_tables_with_spaces_and_empty_values_are_trimmed_like_whole_ones(raw_claims):
    raw = raw_claims(rows=4, row=2, provider_type="\u00a0clinic", act_code=" K50\t", doctor_id="")
    whole = table_of_strings(raw)
    padded = pa.concat_tables([whole, whole]).combine_chunks().slice(3, 4)
    assert validate_table(padded).valid.slice(0, 1).equals(validate_table(whole).valid.slice(3, 1))
    valid = validate_table(whole).valid
    assert valid.column("provider_type")[2].as_py() == "CLINIC"
    assert valid.column("act_code")[2].as_py() == "K50"
    assert valid.column("doctor_id")[2].as_py() is None
