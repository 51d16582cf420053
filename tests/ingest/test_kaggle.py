"""The Kaggle provider-fraud adapter on the real files (skipped when the dataset is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ingest.kaggle import state_region, write_labels
from ingest.schema import CLAIM_DTYPES, LABEL_COLUMNS
from ingest.store import ClaimsStore

# shared/ sits beside the repository, on developers' machines and in CI alike.
DATASET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "kaggle-provider-fraud"
needs_dataset = pytest.mark.skipif(not DATASET.is_dir(), reason=f"Kaggle provider-fraud dataset absent at {DATASET}")


def test_state_codes_map_to_contract_regions():
    assert state_region(pd.Series(["1", "12", "13", "54", "NA"])).tolist() == ["01", "12", "01", "06", ""]


@needs_dataset
def test_kaggle_dataset_loads_onto_the_contract_and_reconciles(settings):
    with ClaimsStore(settings.home_path) as store:
        report = store.ingest([DATASET], source_format="kaggle-provider-fraud")
        assert report.read == 40_474 + 9_551 + 125_841
        assert report.read == report.loaded + report.quarantined
        window = store.claims("2009-06-01", "2009-06-07")
        assert {str(t) for t in window.dtypes} <= set(CLAIM_DTYPES.values())
        inpatient = window[window["provider_type"] == "CLINIC"]
        assert set(inpatient["act_family"]) <= {"SURGERY", "HOSPITAL_STAY"}
        assert set(window.loc[window["provider_type"] == "DOCTOR", "act_family"]) <= {"SURGERY", "CONSULTATION"}
        assert (window["amount_claimed"] >= window["amount_reimbursed"]).all()
        assert window["beneficiary_region"].dropna().isin([f"{i:02d}" for i in range(1, 13)]).all()
        again = store.ingest([DATASET], source_format="kaggle-provider-fraud")
        assert again.already_loaded == 3 and again.read == 0


@needs_dataset
def test_kaggle_labels_hold_the_yes_providers(tmp_path):
    out = tmp_path / "labels" / "kaggle.csv"
    assert write_labels(DATASET, out) == 506
    labels = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(labels.columns) == list(LABEL_COLUMNS)
    assert set(labels["entity_type"]) == {"PROVIDER"} and set(labels["scenario"]) == {"kaggle_potential_fraud"}
