"""The insured population: households, beneficiaries, their phones, accounts and
the agencies and proximity points they file at.

Everything is held as numpy arrays indexed by a person index (or household
index), so a national population of a few million stays a few hundred MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.synthetic.catalogue import REGIME_WEIGHTS, REGIMES, REGION_WEIGHTS

__all__ = ["Population", "build_population", "PEOPLE_PER_UNIT", "TADAMON", "PENSIONNES"]

# Persons per unit of intensity: each person makes ~0.15 claim lines a week (~8 a year).
PEOPLE_PER_UNIT = 111_000
TADAMON = REGIMES.index("TADAMON")
PENSIONNES = REGIMES.index("PENSIONNES")
_SIZES = np.arange(1, 9)
_SIZE_P = np.array([0.22, 0.16, 0.17, 0.18, 0.13, 0.08, 0.04, 0.02])


@dataclass
class Population:
    """Persons and households as parallel arrays.

    Person arrays (length ``n``): ``hh`` household index, ``principal`` the household
    principal's person index (its id is the household_id), ``regime``, ``birth_year``,
    ``female``, ``region`` (0..11), ``ald``, ``adult``. Household arrays (length
    ``n_households``): ``hh_region``, ``hh_regime``, ``hh_principal``, ``hh_phone``
    (-1 when the household has none), ``hh_account`` (-1 when none), ``hh_agency``,
    ``hh_point``, and after :meth:`assign_regular` ``hh_gp`` and ``hh_pharmacy``.
    Persons beyond ``n_sampled`` were added by fraud scenarios and never get
    ordinary care.
    """

    hh: np.ndarray
    principal: np.ndarray
    regime: np.ndarray
    birth_year: np.ndarray
    female: np.ndarray
    region: np.ndarray
    ald: np.ndarray
    adult: np.ndarray
    hh_region: np.ndarray
    hh_regime: np.ndarray
    hh_principal: np.ndarray
    hh_phone: np.ndarray
    hh_account: np.ndarray
    hh_agency: np.ndarray
    hh_point: np.ndarray
    n_agencies: int
    n_points: int
    n_sampled: int
    sample_cdf: np.ndarray
    hh_gp: np.ndarray | None = None
    hh_pharmacy: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of persons, including those added by scenarios."""
        return len(self.hh)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` person indices for ordinary care, weighted by age and ALD."""
        return np.searchsorted(self.sample_cdf, rng.random(size) * self.sample_cdf[-1], side="right")

    def add_single_persons(self, birth_year: np.ndarray, female: np.ndarray, region: np.ndarray,
                           regime: np.ndarray) -> np.ndarray:
        """Append one-person households (with a phone, no account) and return the new person indices."""
        k = len(birth_year)
        new_persons = np.arange(self.n, self.n + k)
        new_hh = np.arange(len(self.hh_region), len(self.hh_region) + k)
        self.hh = np.concatenate([self.hh, new_hh])
        self.principal = np.concatenate([self.principal, new_persons])
        self.regime = np.concatenate([self.regime, regime.astype(self.regime.dtype)])
        self.birth_year = np.concatenate([self.birth_year, birth_year.astype(self.birth_year.dtype)])
        self.female = np.concatenate([self.female, female.astype(bool)])
        self.region = np.concatenate([self.region, region.astype(self.region.dtype)])
        self.ald = np.concatenate([self.ald, np.zeros(k, bool)])
        self.adult = np.concatenate([self.adult, np.ones(k, bool)])
        self.hh_region = np.concatenate([self.hh_region, region.astype(self.hh_region.dtype)])
        self.hh_regime = np.concatenate([self.hh_regime, regime.astype(self.hh_regime.dtype)])
        self.hh_principal = np.concatenate([self.hh_principal, new_persons])
        self.hh_phone = np.concatenate([self.hh_phone, new_hh])
        self.hh_account = np.concatenate([self.hh_account, -np.ones(k, np.int64)])
        self.hh_agency = np.concatenate([self.hh_agency, -np.ones(k, np.int64)])
        self.hh_point = np.concatenate([self.hh_point, -np.ones(k, np.int64)])
        for name in ("hh_gp", "hh_pharmacy"):
            arr = getattr(self, name)
            if arr is not None:
                setattr(self, name, np.concatenate([arr, -np.ones(k, np.int64)]))
        return new_persons

    def assign_regular(self, gp: np.ndarray, pharmacy: np.ndarray) -> None:
        """Record each household's family doctor and usual pharmacy (provider indices)."""
        self.hh_gp = gp
        self.hh_pharmacy = pharmacy


def build_population(rng: np.random.Generator, n_people: int, ref_year: int, *, tadamon_share: float = 0.43,
                     tadamon_cash_share: float = 0.5, phone_share: float = 0.93) -> Population:
    """Draw ``n_people`` persons in households, regions, regimes, ages, ALD status.

    Parameters
    ----------
    rng : the generator's random stream for the population
    n_people : persons to create (at least a few hundred)
    ref_year : year used to turn ages into birth years
    tadamon_share : share of households under AMO Tadamon (the other regimes keep their proportions)
    tadamon_cash_share : share of Tadamon households with no bank account
    phone_share : share of households with a family phone
    """
    sizes = rng.choice(_SIZES, size=int(n_people / 3.0) + 50, p=_SIZE_P)
    ends = np.cumsum(sizes)
    n_hh = int(np.searchsorted(ends, n_people)) + 1
    sizes = sizes[:n_hh]
    sizes[-1] -= ends[n_hh - 1] - n_people
    sizes = sizes[sizes > 0]
    n_hh = len(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    hh = np.repeat(np.arange(n_hh), sizes)
    rank = np.arange(n_people) - starts[hh]  # 0 principal, 1 spouse, 2+ children

    hh_region = rng.choice(12, size=n_hh, p=REGION_WEIGHTS).astype(np.int8)
    weights = REGIME_WEIGHTS.copy()
    others = np.arange(len(REGIMES)) != TADAMON
    weights[others] *= (1.0 - tadamon_share) / weights[others].sum()
    weights[TADAMON] = tadamon_share
    hh_regime = rng.choice(len(REGIMES), size=n_hh, p=weights).astype(np.int8)
    retired = hh_regime == PENSIONNES
    p_age = np.where(retired, rng.integers(60, 92, n_hh), np.clip(rng.normal(45, 13, n_hh), 21, 88)).astype(int)
    p_female = rng.random(n_hh) < np.where(retired, 0.3, 0.35)

    age = np.empty(n_people, int)
    female = np.empty(n_people, bool)
    principal_rows = rank == 0
    spouse_rows = rank == 1
    child_rows = rank >= 2
    age[principal_rows] = p_age
    female[principal_rows] = p_female
    h_sp = hh[spouse_rows]
    age[spouse_rows] = np.clip(p_age[h_sp] + rng.integers(-8, 4, len(h_sp)), 19, 95)
    female[spouse_rows] = ~p_female[h_sp]
    h_ch = hh[child_rows]
    max_child = np.clip(p_age[h_ch] - 18, 1, 26)
    age[child_rows] = (rng.random(len(h_ch)) * max_child).astype(int)
    female[child_rows] = rng.random(len(h_ch)) < 0.5

    p_ald = np.select([age < 18, age < 45, age < 60], [0.01, 0.035, 0.12], 0.26)
    ald = rng.random(n_people) < p_ald
    care_weight = np.select([age < 5, age < 18, age < 45, age < 65], [2.0, 0.8, 0.8, 1.3], 2.0)
    care_weight = care_weight * np.where(female & (age >= 18) & (age < 45), 1.4, 1.0) * np.where(ald, 1.6, 1.0)

    has_phone = rng.random(n_hh) < phone_share
    has_account = rng.random(n_hh) < np.where(hh_regime == TADAMON, 1.0 - tadamon_cash_share, 0.92)

    # Agencies (~1 per 8,000 households) and proximity points (~1 per 1,500 households)
    # per region; each household has one of each, big points drawing thousands.
    hh_agency = np.empty(n_hh, np.int64)
    hh_point = np.empty(n_hh, np.int64)
    n_ag = 0
    point_blocks = []
    for r in range(12):
        members = np.flatnonzero(hh_region == r)
        k_ag = max(1, round(len(members) / 8000))
        hh_agency[members] = n_ag + rng.integers(0, k_ag, len(members))
        n_ag += k_ag
        k_pp = max(1, round(len(members) / 1500))
        point_blocks.append((members, k_pp))
    n_pp = 0
    for members, k_pp in point_blocks:
        size = rng.lognormal(0, 0.8, k_pp)
        cdf = np.cumsum(size)
        hh_point[members] = n_ag + n_pp + np.searchsorted(cdf, rng.random(len(members)) * cdf[-1], side="right")
        n_pp += k_pp

    principals = starts
    return Population(
        hh=hh.astype(np.int64), principal=principals[hh].astype(np.int64),
        regime=hh_regime[hh], birth_year=(ref_year - age).astype(np.int16), female=female,
        region=hh_region[hh], ald=ald, adult=age >= 18,
        hh_region=hh_region, hh_regime=hh_regime, hh_principal=principals.astype(np.int64),
        hh_phone=np.where(has_phone, np.arange(n_hh), -1).astype(np.int64),
        hh_account=np.where(has_account, np.arange(n_hh), -1).astype(np.int64),
        hh_agency=hh_agency, hh_point=hh_point, n_agencies=n_ag, n_points=n_ag + n_pp,
        n_sampled=n_people, sample_cdf=np.cumsum(care_weight),
    )
