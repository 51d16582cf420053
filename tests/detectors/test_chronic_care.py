"""Chronic (ALD) care is learnt against the base rate, unknown ALD is not "no ALD"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.base import line_flags
from detectors.config import DetectionConfig
from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES
from tests.detectors.conftest import _row


def _frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        out[col] = out[col].astype(dtype)
    return out


def _pharmacy_lines(ald_of) -> pd.DataFrame:
    """Sixty patients: the first twenty get an injectable (INJ), everyone a common drug (MED1)."""
    rows = []
    for k in range(60):
        day = f"2025-03-{3 + k % 20:02d}"
        if k < 20:
            rows.append(_row(f"CLM-I{k}", 1, f"BEN-{k}", "PRV-PH", "PHARMACY", "MEDICATION", "INJ", 4000.0, day,
                             ald=ald_of(k), doctor="DOC-1"))
        rows.append(_row(f"CLM-M{k}", 1, f"BEN-{k}", "PRV-PH", "PHARMACY", "MEDICATION", "MED1", 80.0, day,
                         ald=ald_of(k), doctor="DOC-1"))
    return _frame(rows)


def test_an_act_of_alds_patients_is_chronic_care_when_few_people_have_an_ald():
    lines = line_flags(_pharmacy_lines(lambda k: k < 20))
    assert lines.loc[lines["act_code"] == "INJ", "ald_care"].all()
    assert not lines.loc[lines["act_code"] == "MED1", "ald_care"].any()


def test_with_a_lift_where_nearly_everyone_has_an_ald_no_act_is_chronic_care_by_that_alone():
    # 58 of 60 patients "have an ALD" (a data set whose ALD is any chronic condition): INJ's patients are
    # no more often ALD than anyone else.
    lines = line_flags(_pharmacy_lines(lambda k: k not in (20, 21)), config=DetectionConfig({"lines.ald_drug_lift": 2.0}))
    assert not lines["ald_care"].any()
    assert not lines["ald_drug"].any()


def test_an_unknown_ald_status_on_an_act_of_ald_patients_is_chronic_care_not_a_wrong_drug():
    # Ten of the injectable's patients have no ALD flag written at all.
    lines = line_flags(_pharmacy_lines(lambda k: (True if k < 10 else None) if k < 20 else False))
    inj = lines[lines["act_code"] == "INJ"]
    assert inj["ald_care"].all()
    assert not inj["non_ald_ald_drug"].any()


def test_sessions_whose_flag_is_never_written_are_chronic_care_of_their_ald_patients():
    # A dialysis centre, the only one billing HD, leaves the flag empty on every session; its patients'
    # other lines (their GP's) state their ALD.
    rows = []
    for k in range(60):
        day = f"2025-03-{3 + k % 20:02d}"
        rows.append(_row(f"CLM-G{k}", 1, f"BEN-{k}", "PRV-GP", "DOCTOR", "CONSULTATION", "C", 150.0, day,
                         ald=k < 8, doctor="DOC-1"))
        if k < 8:
            for s in range(6):
                rows.append(_row(f"CLM-H{k}-{s}", 1, f"BEN-{k}", "PRV-HD", "DIALYSIS", "CONSULTATION", "HD", 900.0,
                                 f"2025-03-{3 + s * 3:02d}", ald=None, doctor="DOC-2"))
    lines = line_flags(_frame(rows))
    assert lines.loc[lines["act_code"] == "HD", "ald_care"].all()
    assert not lines.loc[lines["act_code"] == "C", "ald_care"].any()
