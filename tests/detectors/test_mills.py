"""Lab mills whose over-tested patients hide among the prescriber's ordinary ones."""

from __future__ import annotations

import pandas as pd

from detectors.mills import MillDetector
from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES

LAB = "PRV-LAB-D"
DOCTOR = "DOC-D"


def _diluted_mill_claims() -> pd.DataFrame:
    """Forty ordinary referral pairs (6-20 patients, one test dossier each, 60 to 420 MAD from pair to pair)
    and one doctor who sends 120 ordinary patients to a lab and sixteen others for a 6,000 MAD battery
    each: his mean per patient is within the spread of the other pairs'."""
    rows = []

    def add(claim, line, bene, lab, doctor, amount, day):
        rows.append({
            "claim_id": claim, "line_no": line, "beneficiary_id": bene, "household_id": bene, "regime": "SALARIES",
            "birth_year": 1980, "sex": "F", "beneficiary_region": "06", "ald": False, "provider_id": lab,
            "provider_type": "LAB", "provider_region": "06", "doctor_id": doctor,
            "doctor_specialty": "MEDECINE_GENERALE", "act_code": "B100", "act_family": "BIOLOGY", "quantity": 1,
            "stay_days": None, "service_date": day, "submission_date": day, "amount_claimed": amount,
            "amount_reimbursed": amount * 0.8, "prior_auth_id": None, "channel": "AGENCY",
            "submission_point_id": None, "contact_phone": None, "payee_account": None, "referrer_id": None})

    for d in range(40):
        for k in range(6 + d % 15):
            add(f"CLM-{d:02d}-{k:03d}", 1, f"BEN-{d:02d}-{k:03d}", f"PRV-LAB-{d % 8}", f"DOC-{d:02d}",
                60.0 * 1.05 ** d + (k % 5), f"2025-03-{1 + k % 28:02d}")
    for k in range(120):
        add(f"CLM-D-{k:03d}", 1, f"BEN-D-{k:03d}", LAB, DOCTOR, 80.0 + (k % 40) * 2, f"2025-03-{1 + k % 28:02d}")
    for k in range(16):
        for line in range(6):
            add(f"CLM-H-{k:03d}", line + 1, f"BEN-H-{k:03d}", LAB, DOCTOR, 1000.0, f"2025-03-{1 + k:02d}")
    claims = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        claims[col] = claims[col].astype(dtype)
    return claims


def test_diluted_mill_is_found_by_its_heavy_dossiers_not_its_mean():
    f = MillDetector().fit(_diluted_mill_claims())
    pair = f.stats
    groups = f.groups
    assert set(zip(groups["entity_id"], groups["role"])) == {(LAB, "centre"), (DOCTOR, "prescriber")}
    assert pair["nominated"] == 1


def test_diluted_mill_is_missed_by_the_mean_alone():
    f = MillDetector(min_heavy_surprise=float("inf")).fit(_diluted_mill_claims())
    assert f.stats["nominated"] == 0
