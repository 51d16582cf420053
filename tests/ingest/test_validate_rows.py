"""The row validator of the API agrees with the column validator of files, row for row."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.schema import CLAIM_COLUMNS
from ingest.validate import validate_table
from ingest.validate_rows import validate_records

SPACES = st.sampled_from(["", " ", "\t", "\u00a0", "\u2003", "\x1c", "\u200b", "\n"])
GOOD = {
    "claim_id": ["FS1", "X-2", "  D3 "], "line_no": ["1", "2", "12"], "beneficiary_id": ["B1", "AMO9"],
    "household_id": ["B1", ""], "regime": ["TADAMON", "salaries", " tns "], "birth_year": ["1960", "2001", ""],
    "sex": ["M", "f", ""], "beneficiary_region": ["06", "12", ""], "ald": ["true", "0", "YES", ""],
    "provider_id": ["P1"], "provider_type": ["CLINIC", "lab"], "provider_region": ["06", ""],
    "doctor_id": ["D1", ""], "doctor_specialty": ["CHIRURGIE", ""], "act_code": ["K50", "C"],
    "act_family": ["SURGERY", "consultation"], "quantity": ["1", "3"], "stay_days": ["0", "4", ""],
    "service_date": ["2025-03-01", "2025-03-01 00:00:00"], "submission_date": ["2025-03-02", "2025-03-01"],
    "amount_claimed": ["150", "99.999", ".5", "+12.345"], "amount_reimbursed": ["80.1", ""],
    "prior_auth_id": ["PA1", ""], "channel": ["AGENCY", "online", ""], "submission_point_id": ["AG1", ""],
    "contact_phone": ["0600", ""], "payee_account": ["RIB1", ""], "referrer_id": ["", "R1"],
}
BAD = {
    "line_no": ["0", "-1", "1.0", "x", "1234567890"], "birth_year": ["60", "19601"], "quantity": ["0", "two"],
    "stay_days": ["-1", "1.5"], "service_date": ["2025-02-30", "2025-2-28", "1600-01-01", "03/01/2025", "2025-03-05"],
    "submission_date": ["2025-13-01", "2025-02-01"], "amount_claimed": ["-5", "1e3", "12,5", "", "abc"],
    "amount_reimbursed": ["-0.01", "x"], "regime": ["CNSS", ""], "sex": ["X"], "beneficiary_region": ["6", "13"],
    "ald": ["maybe"], "provider_type": ["SHOP"], "act_family": ["MAGIC"], "channel": ["POST"], "claim_id": [""],
    "provider_id": ["", "   "],
}


@st.composite
def rows(draw):
    row = {}
    for column in CLAIM_COLUMNS:
        choices = GOOD[column] + (BAD.get(column, []) if draw(st.integers(0, 9)) == 0 else [])
        value = draw(st.sampled_from(choices))
        row[column] = draw(SPACES) + value + draw(SPACES) if value else draw(st.sampled_from(["", None]))
    return row


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(), min_size=1, max_size=6))
def test_same_rows_pass_with_the_same_values_and_the_same_first_reason(records):
    table = pa.table({c: pa.array([r[c] for r in records], pa.string()) for c in CLAIM_COLUMNS})
    expected = validate_table(table)
    valid, valid_pos, issues = validate_records(records)
    assert valid_pos == expected.valid_pos.tolist()
    assert [(p, reason) for p, _, reason, _ in issues] == list(zip(expected.issues["pos"], expected.issues["reason"]))
    assert [rule for _, rule, _, _ in issues] == expected.issues["rule"].tolist()
    for column in CLAIM_COLUMNS:
        assert valid[column] == expected.valid.column(column).to_pylist(), column


def test_values_come_back_typed():
    valid, _, issues = validate_records([{
        "claim_id": " FS1 ", "line_no": "2", "beneficiary_id": "B", "regime": "tadamon", "provider_id": "P",
        "provider_type": "clinic", "act_code": "K50", "act_family": "surgery", "quantity": 1, "ald": True,
        "service_date": "2025-03-01", "submission_date": "2025-03-04", "amount_claimed": 12.3456}])
    assert issues == []
    assert valid["claim_id"] == ["FS1"] and valid["line_no"] == [2] and valid["regime"] == ["TADAMON"]
    assert valid["service_date"] == [dt.date(2025, 3, 1)] and valid["amount_claimed"] == [12.35]
    assert valid["ald"] == [True] and valid["doctor_id"] == [None]
