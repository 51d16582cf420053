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


def _tiny_dataset(folder: Path) -> Path:
    """Two providers, four beneficiaries: P1's patients mostly live in state 5, P2's in state 20."""
    folder.mkdir(parents=True)
    bene = pd.DataFrame({
        "BeneID": ["B1", "B2", "B3", "B4"], "DOB": ["1940-01-01", "1950-06-01", "1960-01-01", "1935-03-01"],
        "Gender": ["1", "2", "1", "2"], "State": ["5", "5", "20", "20"],
        "RenalDiseaseIndicator": ["Y", "0", "0", "0"], "ChronicCond_Cancer": ["2", "1", "2", "2"],
        "ChronicCond_Diabetes": ["1", "1", "1", "1"], "ChronicCond_IschemicHeart": ["1", "2", "1", "1"],
    })
    bene.to_csv(folder / "Train_Beneficiarydata-1.csv", index=False)
    base = {"ClaimStartDt": "2009-03-02", "ClaimEndDt": "2009-03-05", "InscClaimAmtReimbursed": "1000",
            "AttendingPhysician": "PHY1", "OperatingPhysician": "", "OtherPhysician": "", "DeductibleAmtPaid": "0",
            "ClmProcedureCode_1": "", "AdmissionDt": "2009-03-02", "DischargeDt": "2009-03-05",
            "DiagnosisGroupCode": "123"}
    rows = [dict(base, BeneID=b, ClaimID=f"CLM{i}", Provider=p)
            for i, (b, p) in enumerate([("B1", "P1"), ("B2", "P1"), ("B3", "P1"), ("B3", "P2"), ("B4", "P2")])]
    pd.DataFrame(rows).to_csv(folder / "Train_Inpatientdata-1.csv", index=False)
    pd.DataFrame({"Provider": ["P1", "P2"], "PotentialFraud": ["Yes", "No"]}).to_csv(folder / "Train-1.csv", index=False)
    return folder


def test_a_kaggle_provider_is_placed_where_most_of_its_patients_live(tmp_path, settings):
    folder = _tiny_dataset(tmp_path / "kaggle")
    with ClaimsStore(settings.home_path) as store:
        store.ingest([folder], source_format="kaggle-provider-fraud")
        claims = store.claims()
    region = claims.groupby("provider_id", observed=True)["provider_region"].first().astype(str)
    assert region.to_dict() == {"P1": state_region(pd.Series(["5"]))[0], "P2": state_region(pd.Series(["20"]))[0]}


def test_only_cancer_and_end_stage_renal_disease_count_as_an_ald(tmp_path, settings):
    folder = _tiny_dataset(tmp_path / "kaggle")
    with ClaimsStore(settings.home_path) as store:
        store.ingest([folder], source_format="kaggle-provider-fraud")
        claims = store.claims()
    ald = claims.groupby("beneficiary_id", observed=True)["ald"].first().astype(bool).to_dict()
    # B1: renal disease; B2: cancer; B3 and B4 have diabetes and heart disease only, as most Medicare patients do.
    assert ald == {"B1": True, "B2": True, "B3": False, "B4": False}
