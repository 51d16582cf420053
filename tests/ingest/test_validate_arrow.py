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


def test_dates_read_from_their_bytes_are_those_the_general_parser_reads():
    import numpy as np
    import pyarrow.compute as pc

    from ingest import validate

    values = ["2025-01-06", "2024-02-29", "2025-02-29", "1677-09-22", "1677-09-21", "2262-04-11", "2262-04-12",
              "0000-01-01", "2025-13-01", "2025-00-10", "2025-01-00", "2025-04-31", "9999-12-31", "2025-1-06",
              "2025/01/06", None, "2025-01-06 00:00:00", "2025-01-0\u0663"]
    rng = np.random.default_rng(1)
    read_from_bytes = 0
    for _ in range(2000):
        picked = [values[i] for i in rng.integers(0, len(values), rng.integers(1, 6))]
        text = pa.array(picked, pa.string())
        if rng.random() < 0.3:
            text = pa.array(["2025-03-03", *picked], pa.string()).slice(1)
        present = validate._mask(pc.is_valid(text))
        typed, days, ok = validate._dates(text, validate._mask(pc.match_substring_regex(text, f"^(?:{validate._DATE})$")))
        plain = validate._plain_dates(text)
        if plain is None:
            # declined only when the general parser refuses a value, or a value is not ten bytes
            assert not (ok == present).all() or not present.any() or any(
                v is not None and len(v.encode()) != 10 for v in picked)
            continue
        read_from_bytes += 1
        assert (ok == present).all() and plain.equals(typed) and plain.equals(days)
    assert read_from_bytes > 100
