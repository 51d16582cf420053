"""Adapter for the Kaggle "Healthcare Provider Fraud Detection Analysis" dataset.

Maps its inpatient and outpatient claim files, joined to its beneficiary files, onto
the claims contract, chunk by chunk, so the rows then go through the same validation,
quarantine and store as any contract file. Every mapping choice is listed in
``docs/ingest.md``. :func:`write_labels` writes the provider labels (Train file,
``PotentialFraud == "Yes"``) in the labels format.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.read import RawChunk, Source, csv_header, file_sha256, iter_csv_tables
from ingest.schema import LABEL_COLUMNS
from ground.errors import InputRefused
from ground.files import open_private

__all__ = ["FORMAT", "kaggle_sources", "write_labels", "state_region", "provider_states", "ald_flags"]

FORMAT = "kaggle-provider-fraud"

_CLAIM_FILES = ("Train_Inpatientdata-*.csv*", "Test_Inpatientdata-*.csv*",
                "Train_Outpatientdata-*.csv*", "Test_Outpatientdata-*.csv*")
_BENE_FILES = ("Train_Beneficiarydata-*.csv*", "Test_Beneficiarydata-*.csv*")
_CLAIM_REQUIRED = ("BeneID", "ClaimID", "ClaimStartDt", "ClaimEndDt", "Provider", "InscClaimAmtReimbursed",
                   "AttendingPhysician", "OperatingPhysician", "OtherPhysician", "DeductibleAmtPaid",
                   "ClmProcedureCode_1")
_INPATIENT_REQUIRED = _CLAIM_REQUIRED + ("AdmissionDt", "DischargeDt", "DiagnosisGroupCode")
_BENE_REQUIRED = ("BeneID", "DOB", "Gender", "State", "RenalDiseaseIndicator")
#: The chronic conditions read as an ALD: cancer (with end-stage renal disease, ``RenalDiseaseIndicator``), the
#: two whose care is the costly long-term care an AMO ALD exempts (oncology injectables, dialysis). The other
#: ChronicCond_* flags (diabetes 59 %, ischemic heart disease 67 % of the beneficiaries...) are diagnoses ever
#: recorded among Medicare's elderly, not an approval for long-term care: with them 92 % of the patients were ALD.
_ALD_CONDITIONS = ("ChronicCond_Cancer",)
_MISSING = ("", "NA")


def kaggle_sources(folder: str | Path) -> list[Source]:
    """One :class:`Source` per claims file of the dataset folder, yielding contract rows.

    Parameters
    ----------
    folder : path
        The Kaggle provider-fraud dataset folder.

    Raises
    ------
    InputRefused
        The folder is missing, holds no claims or beneficiary file, or a file lacks
        one of the columns the mapping reads.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputRefused(f"{folder}: not a folder; expected the kaggle-provider-fraud dataset folder")
    claim_files = [p for pattern in _CLAIM_FILES for p in sorted(folder.glob(pattern))]
    bene_files = [p for pattern in _BENE_FILES for p in sorted(folder.glob(pattern))]
    if not claim_files or not bene_files:
        raise InputRefused(f"{folder}: expected Train/Test_Inpatientdata-*.csv(.gz), Test_Outpatientdata-*.csv(.gz) "
                           "and *_Beneficiarydata-*.csv(.gz) files")
    for path in bene_files:
        csv_header(path, tuple(c.lower() for c in _BENE_REQUIRED))
    bene_key = tuple((str(p), p.stat().st_mtime_ns) for p in bene_files)
    claims_key = tuple((str(p), p.stat().st_mtime_ns) for p in claim_files)
    sources = []
    for path in claim_files:
        inpatient = "Inpatient" in path.name
        required = _INPATIENT_REQUIRED if inpatient else _CLAIM_REQUIRED
        header = csv_header(path, tuple(c.lower() for c in required))
        sources.append(Source(path.name, path, file_sha256(path), FORMAT, path.stat().st_size,
                              _reader(path, header, inpatient, bene_key, claims_key)))
    return sources


def write_labels(folder: str | Path, out: str | Path) -> int:
    """Write the providers labelled ``PotentialFraud == "Yes"`` (Train file) as labels.

    Rows: entity_type PROVIDER, entity_id the provider id, ring_id empty, role
    ``potential_fraud``, scenario ``kaggle_potential_fraud``. Providers labelled No and
    the unlabelled Test providers get no row. Written atomically; returns the row count.

    Parameters
    ----------
    folder : path
        The dataset folder.
    out : path
        The labels CSV to write.
    """
    folder = Path(folder)
    files = sorted(folder.glob("Train-*.csv"))
    if not files:
        raise InputRefused(f"{folder}: no Train-*.csv provider label file; expected Provider, PotentialFraud columns")
    raw = pd.read_csv(files[0], dtype=str, keep_default_na=False)
    if not {"Provider", "PotentialFraud"} <= set(raw.columns):
        raise InputRefused(f"{files[0].name}: line 1: expected columns Provider, PotentialFraud")
    yes = raw.loc[raw["PotentialFraud"].str.strip().str.upper() == "YES", "Provider"].str.strip()
    labels = pd.DataFrame({"entity_type": "PROVIDER", "entity_id": sorted(yes.unique()), "ring_id": "",
                           "role": "potential_fraud", "scenario": "kaggle_potential_fraud"},
                          columns=list(LABEL_COLUMNS))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open_private(tmp, "w", newline="", encoding="utf-8") as handle:
        labels.to_csv(handle, index=False)
    tmp.replace(out)
    return len(labels)


def state_region(state: pd.Series) -> pd.Series:
    """US state code (1..54) to a contract region code 01..12: ``(state - 1) % 12 + 1``.

    Parameters
    ----------
    state : Series
        State codes.
    """
    number = pd.to_numeric(state, errors="coerce")
    region = ((number - 1) % 12 + 1).astype("Int64")
    return region.map(lambda r: f"{r:02d}", na_action="ignore").astype("str").where(region.notna(), "")


def provider_states(claims: pd.DataFrame, bene_state: pd.Series) -> pd.Series:
    """Each provider's state: the one most of its claims' beneficiaries live in (the smallest code on a tie).

    The data gives no provider address; a provider's patients mostly live near it.

    Parameters
    ----------
    claims : DataFrame
        ``provider`` and ``beneid`` of every claim.
    bene_state : Series
        State code by BeneID.
    """
    state = pd.to_numeric(bene_state.reindex(claims["beneid"].to_numpy()).to_numpy(), errors="coerce")
    known = pd.DataFrame({"provider": claims["provider"].to_numpy(), "state": state}).dropna()
    if known.empty:
        return pd.Series(dtype=str)
    counts = known.groupby(["provider", "state"]).size().rename("n").reset_index()
    top = counts.sort_values(["provider", "n", "state"], ascending=[True, False, True]).drop_duplicates("provider")
    return pd.Series(top["state"].astype(int).astype(str).to_numpy(), index=top["provider"].to_numpy())


def ald_flags(beneficiaries: pd.DataFrame) -> pd.Series:
    """True for a beneficiary with cancer (``ChronicCond_Cancer`` = 1) or end-stage renal disease
    (``RenalDiseaseIndicator`` = Y): the conditions read as an ALD (see ``_ALD_CONDITIONS``).

    Parameters
    ----------
    beneficiaries : DataFrame
        Beneficiary rows, lower-cased headers, string values.
    """
    conditions = [c.lower() for c in _ALD_CONDITIONS if c.lower() in beneficiaries.columns]
    return ((beneficiaries[conditions] == "1").any(axis=1)
            | (beneficiaries["renaldiseaseindicator"].str.upper() == "Y"))


def _reader(path: Path, header: list[str], inpatient: bool, bene_key: tuple, claims_key: tuple) -> Callable:
    def read(chunk_rows: int, on_progress) -> Iterator[RawChunk]:
        bene = _beneficiaries(bene_key)
        regions = _provider_regions(bene_key, claims_key)
        for chunk in iter_csv_tables(path, header, chunk_rows, on_progress):
            raw = chunk.frame.to_pandas()
            yield RawChunk(_to_contract(raw, bene, inpatient, regions), chunk.lines, chunk.bad_rows, original=raw)
    return read


@lru_cache(maxsize=2)
def _provider_regions(bene_key: tuple, claims_key: tuple) -> pd.Series:
    """Contract region of each provider of every claims file (:func:`provider_states`)."""
    frames = []
    for name, _ in claims_key:
        raw = pd.read_csv(name, dtype=str, keep_default_na=False, usecols=lambda c: c.lower() in ("provider", "beneid"))
        raw.columns = [c.lower() for c in raw.columns]
        frames.append(raw)
    states = provider_states(pd.concat(frames, ignore_index=True), _beneficiaries(bene_key)["state"])
    return pd.Series(state_region(states).to_numpy(), index=states.index)


@lru_cache(maxsize=2)
def _beneficiaries(bene_key: tuple) -> pd.DataFrame:
    """birth_year, sex, state, region, ald by BeneID; a Train row wins over a Test row."""
    frames = []
    for name, _ in bene_key:
        cols = [c.lower() for c in _BENE_REQUIRED + _ALD_CONDITIONS]
        raw = pd.read_csv(name, dtype=str, keep_default_na=False, usecols=lambda c: c.lower() in cols)
        raw.columns = [c.lower() for c in raw.columns]
        frames.append(raw)
    raw = pd.concat(frames, ignore_index=True).drop_duplicates("beneid", keep="first").set_index("beneid")
    return pd.DataFrame({
        "birth_year": raw["dob"].str.slice(0, 4).where(~raw["dob"].isin(_MISSING), ""),
        "sex": raw["gender"].map({"1": "M", "2": "F"}).fillna(""),
        "state": raw["state"].where(~raw["state"].isin(_MISSING), ""),
        "region": state_region(raw["state"]),
        "ald": np.where(ald_flags(raw), "true", "false"),
    }, index=raw.index)


def _to_contract(raw: pd.DataFrame, bene: pd.DataFrame, inpatient: bool, regions: pd.Series) -> pd.DataFrame:
    """Kaggle claim rows (strings, lower-cased headers) as contract rows (strings)."""
    v = {c: raw[c].where(~raw[c].isin(_MISSING), "") for c in raw.columns}
    b = bene.reindex(v["beneid"])
    birth = pd.to_numeric(b["birth_year"].to_numpy(), errors="coerce")
    service_year = pd.to_numeric(v["claimstartdt"].str.slice(0, 4), errors="coerce").to_numpy()
    regime = np.where(np.isnan(birth), "", np.where(service_year - birth >= 65, "PENSIONNES", "TADAMON"))
    proc = v["clmprocedurecode_1"].str.replace(r"\.0$", "", regex=True)
    has_proc = (proc != "").to_numpy()
    attending, operating, other = v["attendingphysician"], v["operatingphysician"], v["otherphysician"]
    if inpatient:
        doctor = operating.where(operating != "", attending)
        drg = v["diagnosisgroupcode"]
        act_code = np.where(has_proc, "ICD9P-" + proc, np.where(drg != "", "DRG-" + drg, "HOSP"))
        act_family = np.where(has_proc, "SURGERY", "HOSPITAL_STAY")
        stay = (pd.to_datetime(v["dischargedt"], format="%Y-%m-%d", errors="coerce")
                - pd.to_datetime(v["admissiondt"], format="%Y-%m-%d", errors="coerce")).dt.days
        stay_days = stay.map(lambda d: str(int(d)), na_action="ignore").fillna("")
        provider_type = "CLINIC"
    else:
        doctor = attending.where(attending != "", operating.where(operating != "", other))
        act_code = np.where(has_proc, "ICD9P-" + proc, "C")
        act_family = np.where(has_proc, "SURGERY", "CONSULTATION")
        stay_days = ""
        provider_type = "DOCTOR"
    paid = pd.to_numeric(v["inscclaimamtreimbursed"], errors="coerce")
    deductible = pd.to_numeric(v["deductibleamtpaid"].where(v["deductibleamtpaid"] != "", "0"), errors="coerce")
    claimed = (paid + deductible).map(lambda x: f"{x:.2f}", na_action="ignore")
    out = pd.DataFrame({
        "claim_id": v["claimid"], "line_no": "1", "beneficiary_id": v["beneid"], "household_id": v["beneid"],
        "regime": regime, "birth_year": b["birth_year"].fillna("").to_numpy(),
        "sex": b["sex"].fillna("").to_numpy(), "beneficiary_region": b["region"].fillna("").to_numpy(),
        "ald": b["ald"].fillna("").to_numpy(), "provider_id": v["provider"], "provider_type": provider_type,
        "provider_region": regions.reindex(v["provider"].to_numpy()).fillna("").to_numpy(), "doctor_id": doctor, "doctor_specialty": "", "act_code": act_code,
        "act_family": act_family, "quantity": "1", "stay_days": stay_days,
        "service_date": v["claimstartdt"], "submission_date": v["claimenddt"],
        "amount_claimed": claimed.where(claimed.notna(), v["inscclaimamtreimbursed"]),
        "amount_reimbursed": v["inscclaimamtreimbursed"], "prior_auth_id": "", "channel": "PROVIDER_DIRECT",
        "submission_point_id": "", "contact_phone": "", "payee_account": "", "referrer_id": "",
    }, index=raw.index)
    return out.astype("str")
