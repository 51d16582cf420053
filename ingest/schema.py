"""The claims contract (../shared/claims-contract.md) as Python constants.

Every ingest path produces exactly :data:`CLAIM_COLUMNS`, with the in-memory
dtypes of :data:`CLAIM_DTYPES`, so detectors never see anything else.
"""

from __future__ import annotations

__all__ = [
    "CLAIM_COLUMNS",
    "REQUIRED_CLAIM_COLUMNS",
    "CLAIM_DTYPES",
    "ENUMS",
    "REGIONS",
    "PROVIDER_COLUMNS",
    "REQUIRED_PROVIDER_COLUMNS",
    "LABEL_COLUMNS",
    "ENTITY_TYPES",
    "ENTITY_COLUMNS",
    "ID_COLUMNS",
    "MAX_ID_CHARS",
    "MAX_FIELD_CHARS",
]

REGIONS: dict[str, str] = {
    "01": "Tanger-Tetouan-Al Hoceima",
    "02": "Oriental",
    "03": "Fes-Meknes",
    "04": "Rabat-Sale-Kenitra",
    "05": "Beni Mellal-Khenifra",
    "06": "Casablanca-Settat",
    "07": "Marrakech-Safi",
    "08": "Draa-Tafilalet",
    "09": "Souss-Massa",
    "10": "Guelmim-Oued Noun",
    "11": "Laayoune-Sakia El Hamra",
    "12": "Dakhla-Oued Ed-Dahab",
}

ENUMS: dict[str, tuple[str, ...]] = {
    "regime": ("TADAMON", "ACHAMIL", "TNS", "SALARIES", "PENSIONNES"),
    "sex": ("M", "F"),
    "beneficiary_region": tuple(REGIONS),
    "provider_type": ("CLINIC", "HOSPITAL", "DOCTOR", "LAB", "IMAGING", "PHARMACY", "DENTIST"),
    "provider_region": tuple(REGIONS),
    "act_family": (
        "CONSULTATION", "SURGERY", "BIOLOGY", "IMAGING", "DENTAL", "HOSPITAL_STAY", "MEDICATION", "OTHER",
    ),
    "channel": ("AGENCY", "PROXIMITY_POINT", "ONLINE", "PROVIDER_DIRECT"),
}

# Column order is the contract's order; the in-memory dtype of each column.
# Strings use pandas' "string" dtype, dates are datetime64[ns] (no time part),
# amounts are float64 dirhams rounded to two decimals, "Int64"/"boolean" are nullable.
CLAIM_DTYPES: dict[str, str] = {
    "claim_id": "string",
    "line_no": "int64",
    "beneficiary_id": "string",
    "household_id": "string",
    "regime": "string",
    "birth_year": "Int64",
    "sex": "string",
    "beneficiary_region": "string",
    "ald": "boolean",
    "provider_id": "string",
    "provider_type": "string",
    "provider_region": "string",
    "doctor_id": "string",
    "doctor_specialty": "string",
    "act_code": "string",
    "act_family": "string",
    "quantity": "int64",
    "stay_days": "Int64",
    "service_date": "datetime64[ns]",
    "submission_date": "datetime64[ns]",
    "amount_claimed": "float64",
    "amount_reimbursed": "float64",
    "prior_auth_id": "string",
    "channel": "string",
    "submission_point_id": "string",
    "contact_phone": "string",
    "payee_account": "string",
    "referrer_id": "string",
}

CLAIM_COLUMNS: tuple[str, ...] = tuple(CLAIM_DTYPES)

REQUIRED_CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id", "line_no", "beneficiary_id", "regime", "provider_id", "provider_type",
    "act_code", "act_family", "quantity", "service_date", "submission_date", "amount_claimed",
)

PROVIDER_COLUMNS: tuple[str, ...] = (
    "provider_id", "name", "provider_type", "region", "city", "latitude", "longitude",
)
REQUIRED_PROVIDER_COLUMNS: tuple[str, ...] = ("provider_id", "provider_type")

LABEL_COLUMNS: tuple[str, ...] = ("entity_type", "entity_id", "ring_id", "role", "scenario")

ENTITY_TYPES: tuple[str, ...] = (
    "BENEFICIARY", "PROVIDER", "DOCTOR", "INTERMEDIARY", "PHONE", "ACCOUNT", "SUBMISSION_POINT", "REFERRER",
)

#: Entity type -> the claims column holding its identifier, the one map every package uses.
#: INTERMEDIARY has no column: intermediaries are inferred from shared identifiers.
ENTITY_COLUMNS: dict[str, str] = {
    "BENEFICIARY": "beneficiary_id",
    "PROVIDER": "provider_id",
    "DOCTOR": "doctor_id",
    "PHONE": "contact_phone",
    "ACCOUNT": "payee_account",
    "SUBMISSION_POINT": "submission_point_id",
    "REFERRER": "referrer_id",
}

#: Identifier columns: a value longer than :data:`MAX_ID_CHARS` is quarantined (ID_TOO_LONG).
ID_COLUMNS: tuple[str, ...] = (
    "claim_id", "beneficiary_id", "household_id", "provider_id", "doctor_id", "prior_auth_id",
    "submission_point_id", "contact_phone", "payee_account", "referrer_id",
)
#: Longest identifier accepted, in characters.
MAX_ID_CHARS = 64
#: Longest value of any column accepted, in characters; a longer one quarantines its row (FIELD_TOO_LONG).
MAX_FIELD_CHARS = 1000
