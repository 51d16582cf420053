"""Validation: each reason code, trimming and upper-casing, booleans."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.validate import REASONS, validate_claims


@pytest.mark.parametrize("column, value, reason", [
    ("claim_id", "  ", "MISSING_REQUIRED"),
    ("act_code", "", "MISSING_REQUIRED"),
    ("line_no", "one", "BAD_INT"),
    ("line_no", "0", "BAD_INT"),
    ("birth_year", "19x0", "BAD_INT"),
    ("stay_days", "-2", "BAD_INT"),
    ("quantity", "0", "BAD_QUANTITY"),
    ("quantity", "2.5", "BAD_QUANTITY"),
    ("service_date", "2025-02-30", "BAD_DATE"),
    ("submission_date", "04/03/2025", "BAD_DATE"),
    ("amount_claimed", "12,50", "BAD_AMOUNT"),
    ("amount_reimbursed", "-1.00", "NEGATIVE_AMOUNT"),
    ("submission_date", "2025-03-01", "SUBMISSION_BEFORE_SERVICE"),
    ("regime", "CNOPS", "UNKNOWN_ENUM"),
    ("beneficiary_region", "13", "UNKNOWN_ENUM"),
    ("ald", "maybe", "BAD_BOOL"),
])
def test_each_rule_rejects_only_the_bad_row_with_its_reason(raw_claims, column, value, reason):
    result = validate_claims(raw_claims(**{column: value}))
    assert list(result.issues["pos"]) == [1]
    assert result.issues["reason"].iat[0] == reason
    assert column in result.issues["message"].iat[0]
    assert reason in REASONS
    assert len(result.valid) == 2


def test_enums_are_trimmed_and_upper_cased_and_ald_reads_words_and_digits(raw_claims):
    raw = raw_claims(regime="  tadamon ", provider_type="Clinic", ald="1", sex=" f")
    raw.loc[0, "ald"] = "FALSE"
    raw.loc[2, "ald"] = ""
    result = validate_claims(raw)
    assert result.issues.empty
    assert result.valid.loc[1, "regime"] == "TADAMON"
    assert result.valid.loc[1, "provider_type"] == "CLINIC"
    assert result.valid.loc[1, "sex"] == "F"
    assert not result.valid["ald"].iat[0]
    assert result.valid["ald"].iat[1]
    assert pd.isna(result.valid["ald"].iat[2])


def test_a_row_breaking_several_rules_is_reported_once_with_every_message(raw_claims):
    result = validate_claims(raw_claims(quantity="0", amount_claimed="abc"))
    assert len(result.issues) == 1
    assert "quantity" in result.issues["message"].iat[0] and "amount_claimed" in result.issues["message"].iat[0]


def test_valid_rows_have_contract_dtypes(raw_claims):
    from ingest.schema import CLAIM_DTYPES

    result = validate_claims(raw_claims())
    assert {c: str(t) for c, t in result.valid.dtypes.items()} == CLAIM_DTYPES
