"""Fixed reference tables of the generator: Moroccan regions and cities, regimes,
provider mix, specialties and the act nomenclature with dirham tariffs.

Act codes follow the NGAP idea of a letter key and a coefficient (``K50`` is a
surgical act of coefficient 50); the amount is the key's unit price times the
coefficient. Every code the generator may write is one row of :data:`ACTS`, so
lines carry a small integer act index until they are written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "REGION_CODES", "REGION_WEIGHTS", "CITIES", "REGION_CENTRES",
    "REGIMES", "REGIME_WEIGHTS", "PROVIDER_TYPES", "PROVIDERS_PER_UNIT",
    "FAMILIES", "GP_SPECIALTY", "SPECIALISTS", "SURGEONS", "ANAESTHETIST",
    "Acts", "ACTS", "region_distance_km",
]

REGION_CODES: tuple[str, ...] = tuple(f"{i:02d}" for i in range(1, 13))
# Share of the population living in each region (census 2014 order of magnitude).
REGION_WEIGHTS = np.array([10.5, 6.7, 12.5, 14.0, 7.3, 20.0, 12.5, 4.6, 8.0, 1.2, 1.1, 0.4])
REGION_WEIGHTS = REGION_WEIGHTS / REGION_WEIGHTS.sum()

# (city, latitude, longitude, weight inside the region)
CITIES: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    "01": (("Tanger", 35.76, -5.83, 5), ("Tetouan", 35.57, -5.37, 3), ("Al Hoceima", 35.25, -3.93, 1),
           ("Larache", 35.19, -6.16, 1), ("Chefchaouen", 35.17, -5.27, 0.6)),
    "02": (("Oujda", 34.68, -1.91, 4), ("Nador", 35.17, -2.93, 3), ("Berkane", 34.92, -2.32, 1.5),
           ("Taourirt", 34.41, -2.89, 0.8), ("Figuig", 32.11, -1.23, 0.3)),
    "03": (("Fes", 34.03, -5.00, 5), ("Meknes", 33.89, -5.55, 3.5), ("Taza", 34.21, -4.01, 1.2),
           ("Sefrou", 33.83, -4.84, 0.8), ("Ifrane", 33.53, -5.11, 0.4)),
    "04": (("Rabat", 34.02, -6.84, 4), ("Sale", 34.05, -6.80, 3.5), ("Kenitra", 34.26, -6.58, 2.5),
           ("Temara", 33.93, -6.91, 2), ("Khemisset", 33.82, -6.07, 1)),
    "05": (("Beni Mellal", 32.34, -6.36, 3), ("Khouribga", 32.88, -6.91, 2), ("Fquih Ben Salah", 32.50, -6.69, 1.2),
           ("Khenifra", 32.94, -5.67, 1), ("Azilal", 31.96, -6.57, 0.6)),
    "06": (("Casablanca", 33.57, -7.59, 10), ("Mohammedia", 33.69, -7.38, 1.5), ("El Jadida", 33.25, -8.51, 1.4),
           ("Settat", 33.00, -7.62, 1), ("Berrechid", 33.27, -7.59, 1)),
    "07": (("Marrakech", 31.63, -8.01, 6), ("Safi", 32.30, -9.24, 2), ("El Kelaa des Sraghna", 32.05, -7.41, 1),
           ("Essaouira", 31.51, -9.77, 0.8), ("Youssoufia", 32.25, -8.53, 0.6)),
    "08": (("Errachidia", 31.93, -4.42, 2), ("Ouarzazate", 30.92, -6.89, 1.5), ("Midelt", 32.68, -4.74, 1),
           ("Tinghir", 31.51, -5.53, 1), ("Zagora", 30.33, -5.84, 0.7)),
    "09": (("Agadir", 30.42, -9.60, 4), ("Inezgane", 30.36, -9.54, 2), ("Taroudant", 30.47, -8.88, 1.2),
           ("Tiznit", 29.70, -9.73, 0.8), ("Ouled Teima", 30.39, -9.21, 0.8)),
    "10": (("Guelmim", 28.99, -10.06, 3), ("Tan-Tan", 28.44, -11.10, 1.5), ("Sidi Ifni", 29.38, -10.17, 1),
           ("Assa", 28.61, -9.43, 0.4)),
    "11": (("Laayoune", 27.15, -13.20, 5), ("Es-Semara", 26.74, -11.67, 1), ("Boujdour", 26.13, -14.48, 0.7),
           ("Tarfaya", 27.94, -12.93, 0.3)),
    "12": (("Dakhla", 23.68, -15.96, 5), ("Aousserd", 22.55, -14.33, 0.3)),
}
REGION_CENTRES = np.array([[c[0][1], c[0][2]] for c in CITIES.values()])

REGIMES: tuple[str, ...] = ("TADAMON", "SALARIES", "TNS", "PENSIONNES", "ACHAMIL")
REGIME_WEIGHTS = np.array([0.43, 0.35, 0.10, 0.07, 0.05])

PROVIDER_TYPES: tuple[str, ...] = ("CLINIC", "HOSPITAL", "DOCTOR", "LAB", "IMAGING", "PHARMACY", "DENTIST")
# Billing providers per unit of population intensity (scale 1 over 12 weeks);
# surgeons and anaesthetists attached to facilities come on top (see providers.py).
PROVIDERS_PER_UNIT: dict[str, float] = {
    "CLINIC": 40, "HOSPITAL": 24, "DOCTOR": 560, "LAB": 70, "IMAGING": 45, "PHARMACY": 500, "DENTIST": 120,
}

FAMILIES: tuple[str, ...] = (
    "CONSULTATION", "SURGERY", "BIOLOGY", "IMAGING", "DENTAL", "HOSPITAL_STAY", "MEDICATION", "OTHER",
)

GP_SPECIALTY = "MEDECINE_GENERALE"
SPECIALISTS: tuple[tuple[str, float], ...] = (
    ("PEDIATRIE", 0.14), ("GYNECOLOGIE", 0.15), ("CARDIOLOGIE", 0.10), ("ENDOCRINOLOGIE", 0.07),
    ("PNEUMOLOGIE", 0.06), ("OPHTALMOLOGIE", 0.10), ("ORL", 0.08), ("DERMATOLOGIE", 0.08),
    ("RHUMATOLOGIE", 0.05), ("GASTRO_ENTEROLOGIE", 0.07), ("NEUROLOGIE", 0.04), ("PSYCHIATRIE", 0.06),
)
SURGEONS: tuple[tuple[str, float], ...] = (
    ("CHIRURGIE_GENERALE", 0.35), ("TRAUMATOLOGIE_ORTHOPEDIE", 0.2), ("UROLOGIE", 0.12),
    ("CHIRURGIE_VISCERALE", 0.13), ("GYNECOLOGIE_OBSTETRIQUE", 0.2),
)
ANAESTHETIST = "ANESTHESIE_REANIMATION"

# Unit prices in dirhams of the letter keys.
_UNIT = {"K": 30.0, "B": 1.1, "Z": 10.0, "D": 15.0}
_MAX_COEF = {"K": 400, "B": 2000, "Z": 400, "D": 300}
_FAMILY_OF_KEY = {"K": "SURGERY", "B": "BIOLOGY", "Z": "IMAGING", "D": "DENTAL"}


@dataclass(frozen=True)
class Acts:
    """The act nomenclature as parallel arrays, indexed by an act number.

    Attributes
    ----------
    code : object ndarray of act codes (``"K50"``, ``"CS"``, ``"MED0012345"``)
    family : int ndarray, index into :data:`FAMILIES`
    price : float ndarray, tariff in dirhams for quantity 1
    consult : dict name -> index of the consultation and stay codes
    key_base : dict letter -> index of coefficient 0 of that key (``key_base["K"] + 50`` is K50)
    drugs, ald_drugs, injectables, oncology : int ndarrays of act indices of medication codes
        (oncology: chemotherapy and biologics of 3,000-18,000 MAD dispensed to ALD patients)
    """

    code: np.ndarray
    family: np.ndarray
    price: np.ndarray
    consult: dict
    key_base: dict
    drugs: np.ndarray
    ald_drugs: np.ndarray
    injectables: np.ndarray
    oncology: np.ndarray

    def coef(self, key: str, coefficients: np.ndarray) -> np.ndarray:
        """Act indices of ``key`` with the given coefficients (clipped to the nomenclature)."""
        return self.key_base[key] + np.clip(coefficients, 1, _MAX_COEF[key]).astype(np.int64)


def _build_acts() -> Acts:
    codes: list[str] = []
    families: list[str] = []
    prices: list[float] = []

    def add(code: str, family: str, price: float) -> int:
        codes.append(code)
        families.append(family)
        prices.append(price)
        return len(codes) - 1

    consult = {
        "C": add("C", "CONSULTATION", 80.0),
        "CS": add("CS", "CONSULTATION", 150.0),
        "CSC": add("CSC", "CONSULTATION", 250.0),
        "V": add("V", "CONSULTATION", 120.0),
        "PJ_CLINIC": add("PJ1", "HOSPITAL_STAY", 900.0),
        "PJ_HOSPITAL": add("PJ2", "HOSPITAL_STAY", 450.0),
        "PJ_ICU": add("PJR", "HOSPITAL_STAY", 2500.0),
        "AMI": add("AMI", "OTHER", 40.0),
        "HD": add("HD", "OTHER", 850.0),
    }
    key_base = {}
    for key, unit in _UNIT.items():
        key_base[key] = len(codes)
        for c in range(_MAX_COEF[key] + 1):
            add(f"{key}{c}", _FAMILY_OF_KEY[key], unit * c)
    # Drug codes: pseudo-random 7-digit numbers, stable across runs (fixed seed).
    rng = np.random.default_rng(20250106)
    numbers = rng.choice(9_000_000, size=200, replace=False) + 1_000_000
    drug_prices = np.round(np.exp(rng.normal(3.7, 0.7, size=100)), 2)  # ordinary drugs ~ 15-300 MAD
    ald_prices = np.round(np.exp(rng.normal(5.6, 0.6, size=50)), 2)  # chronic treatments ~ 100-900 MAD
    inj_prices = np.round(np.exp(rng.normal(8.2, 0.4, size=30)), 2)  # injectables, biologics ~ 2,000-8,000 MAD
    # Chemotherapy and biologics dispensed for ALD patients: 3,000-18,000 MAD a box.
    onc_prices = np.round(np.clip(np.exp(rng.normal(8.9, 0.45, size=20)), 3000, 18000), 2)
    start = len(codes)
    for n, p in zip(numbers, np.concatenate([drug_prices, ald_prices, inj_prices, onc_prices])):
        add(f"MED{n}", "MEDICATION", float(p))
    idx = np.arange(start, start + 200)
    return Acts(
        code=np.array(codes, dtype=object),
        family=np.array([FAMILIES.index(f) for f in families], dtype=np.int8),
        price=np.array(prices),
        consult=consult,
        key_base=key_base,
        drugs=idx[:100],
        ald_drugs=idx[100:150],
        injectables=idx[150:180],
        oncology=idx[180:],
    )


ACTS: Acts = _build_acts()


def region_distance_km() -> np.ndarray:
    """12 x 12 great-circle distances in km between the regions' main cities."""
    lat = np.radians(REGION_CENTRES[:, 0])
    lon = np.radians(REGION_CENTRES[:, 1])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))
