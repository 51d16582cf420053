"""Claims with every planted pattern the detectors look for, built on the tiny fixture."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES

PHANTOM_CLINIC = "PRV-CLINIC-P"
PHANTOM_DOCTOR = "DOC-P"
RING_PHARMACY = "PRV-PHARMA-X"
RING_PRESCRIBER = "DOC-X"
LOOP_CLINICS = ("PRV-CLINIC-K1", "PRV-CLINIC-K2")
LOOP_DOCTORS = ("DOC-K1", "DOC-K2")
MILL_LAB = "PRV-LAB-M"
MILL_DOCTOR = "DOC-M"


def _row(claim, line, bene, provider, ptype, family, act, amount, day, *, regime="SALARIES", region="06",
         pregion="06", doctor=None, birth=1980, ald=False, specialty="MEDECINE_GENERALE"):
    return {
        "claim_id": claim, "line_no": line, "beneficiary_id": bene, "household_id": bene, "regime": regime,
        "birth_year": birth, "sex": "M", "beneficiary_region": region, "ald": ald, "provider_id": provider,
        "provider_type": ptype, "provider_region": pregion, "doctor_id": doctor,
        "doctor_specialty": specialty if doctor else None, "act_code": act, "act_family": family,
        "quantity": 1, "stay_days": None, "service_date": day, "submission_date": day, "amount_claimed": amount,
        "amount_reimbursed": amount * 0.8, "prior_auth_id": None, "channel": "AGENCY",
        "submission_point_id": None, "contact_phone": None, "payee_account": None, "referrer_id": None,
    }


def make_pattern_claims(tiny: pd.DataFrame) -> pd.DataFrame:
    """``tiny`` plus: six ordinary clinics and labs, a clinic billing surgery for phantom
    patients (far, elderly, seen nowhere else, no consultation), a pharmacy dispensing an
    ALD drug to patients without ALD prescribed by one doctor, two clinics operating on the
    same five patients (a kickback loop), and a lab billing fifteen patients of one doctor
    six expensive tests each (a mill)."""
    rows = []
    n = 0

    def claim():
        nonlocal n
        n += 1
        return f"CLM-P{n:04d}"

    for c in range(6):
        for k in range(4):
            bene = f"BEN-N{c}{k}"
            cid = claim()
            rows.append(_row(cid, 1, bene, f"PRV-CLINIC-N{c}", "CLINIC", "CONSULTATION", "C", 200.0,
                             f"2025-03-{4 + k:02d}", doctor=f"DOC-N{c}"))
            if k == 0:
                rows.append(_row(cid, 2, bene, f"PRV-CLINIC-N{c}", "CLINIC", "SURGERY", "K30", 3000.0,
                                 f"2025-03-{5 + k:02d}", doctor=f"DOC-N{c}", specialty="CHIRURGIE_GENERALE"))
    for k in range(6):
        rows.append(_row(claim(), 1, f"BEN-P{k}", PHANTOM_CLINIC, "CLINIC", "SURGERY", "K80", 9000.0,
                         f"2025-03-{10 + k:02d}", regime="TADAMON", region="10", pregion="04",
                         doctor=PHANTOM_DOCTOR, birth=1940, specialty="CHIRURGIE_GENERALE"))
    pharmacies = ["PRV-PHARMA-D", "PRV-PHARMA-E", "PRV-PHARMA-F", "PRV-PHARMA-G", "PRV-PHARMA-H"]
    for k in range(15):
        rows.append(_row(claim(), 1, f"BEN-A{k}", pharmacies[k % 5], "PHARMACY", "MEDICATION", "MEDALD", 600.0,
                         f"2025-03-{3 + k:02d}", doctor=f"DOC-N{k % 6}", ald=True))
        rows.append(_row(claim(), 1, f"BEN-A{k}", pharmacies[k % 5], "PHARMACY", "MEDICATION", "MED1", 60.0,
                         f"2025-03-{4 + k:02d}", doctor=f"DOC-N{k % 6}"))
    for k in range(8):
        rows.append(_row(claim(), 1, f"BEN-X{k}", RING_PHARMACY, "PHARMACY", "MEDICATION", "MEDALD", 600.0,
                         f"2025-03-{3 + k:02d}", doctor=RING_PRESCRIBER))
    for k in range(5):
        for step in range(2):
            rows.append(_row(claim(), 1, f"BEN-K{k}", LOOP_CLINICS[step], "CLINIC", "SURGERY", "K150", 7000.0,
                             f"2025-03-{3 + k + 7 * step:02d}", doctor=LOOP_DOCTORS[(k + step) % 2],
                             specialty="CHIRURGIE_GENERALE"))
    for c in range(6):
        for k in range(5):
            rows.append(_row(claim(), 1, f"BEN-L{c}{k}", f"PRV-LAB-N{c}", "LAB", "BIOLOGY", "B120", 80.0 + 20 * c,
                             f"2025-03-{3 + k:02d}", doctor=f"DOC-N{c}"))
    for k in range(15):
        cid = claim()
        for line in range(6):
            rows.append(_row(cid, line + 1, f"BEN-M{k}", MILL_LAB, "LAB", "BIOLOGY", "B800", 800.0,
                             f"2025-03-{3 + k % 20:02d}", doctor=MILL_DOCTOR))
    extra = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        extra[col] = extra[col].astype(dtype)
    return pd.concat([tiny, extra], ignore_index=True)


@pytest.fixture
def pattern_claims(tiny_claims) -> pd.DataFrame:
    """Tiny claims plus a phantom-patient clinic, a pharmacy ring and ordinary peers."""
    return make_pattern_claims(tiny_claims)


#: The fixtures are a few dozen providers: nothing there is surprising at a national scale, so the tests
#: of the assembly rules report every candidate ring (the calibration has its own tests).
EVERY_RING = {"rings": {"alert_surprise": -1e9}}


@pytest.fixture
def pattern_result(pattern_claims):
    """One detection run on :func:`pattern_claims` (seed 7), every candidate ring reported."""
    from detectors.config import DetectionConfig
    from detectors.pipeline import detect

    return detect(pattern_claims, seed=7, config=DetectionConfig.from_mapping(EVERY_RING))


@pytest.fixture(scope="session")
def small_world() -> pd.DataFrame:
    """A small generated world (about 28,000 lines, planted rings and look-alikes), built once per session."""
    from ingest.synthetic import generate_frames

    return generate_frames(scale=0.15, weeks=6, seed=11).claims
