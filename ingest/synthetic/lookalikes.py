"""Legitimate look-alikes: ordinary care that looks like fraud, planted on purpose and
labelled in ``lookalikes.csv`` (never read by detectors).

Planting happens once, before any week is drawn: the groups' providers are added next
to existing ones (a dialysis centre, an oncologist and the pharmacies by his door, a GP's
pharmacy next door, a fast-growing clinic), existing ones are chosen (referral clinics,
hospitals with social workers, caravan clinics) and households are edited (village
phones, tiers-payant accounts). ``ingest.synthetic.lookalike_care`` draws their weekly
dossiers; ``ingest.synthetic.noise`` holds the data-quality kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingest.synthetic.catalogue import REGIMES, REGION_WEIGHTS, region_distance_km
from ingest.synthetic.ids import (
    ACCOUNT_SHARED, PHONE_SERVICE, PHONE_VILLAGE, REFERRER_NGO, REFERRER_SOCIAL, account_ids, beneficiary_ids,
    phone_ids, point_ids, provider_ids, referrer_ids,
)
from ingest.synthetic.noise import Noise, noise_rows
from ingest.synthetic.population import PENSIONNES, TADAMON, Population
from ingest.synthetic.providers import ProviderTable
from ingest.synthetic.world import WorldParams

__all__ = ["KINDS", "LOOKALIKE_COLUMNS", "Group", "LookAlikes", "plant_lookalikes", "bind_regular",
           "lookalikes_frame"]

KINDS = ("dialysis", "oncology_injectables", "gp_pharmacy_next_door", "ngo_caravan", "social_worker",
         "referral_clinic", "growing_clinic", "village_phone", "tiers_payant_account", "tadamon_cash",
         "mixed_dossier", "emergency_surgery", "specialty_spelling", "missing_fields", "phone_format")
LOOKALIKE_COLUMNS = ("kind", "entity_type", "entity_id", "group_id", "role")
# role of a member -> entity type written in lookalikes.csv
_ENTITY = {"centre": "PROVIDER", "nephrologist": "DOCTOR", "specialist": "DOCTOR", "pharmacy": "PROVIDER",
           "gp": "DOCTOR", "clinic": "PROVIDER", "surgeon": "DOCTOR", "dentist": "PROVIDER", "lab": "PROVIDER",
           "doctor": "DOCTOR", "hospital": "PROVIDER", "coordinator": "REFERRER", "social_worker": "REFERRER",
           "service_phone": "PHONE", "village_phone": "PHONE", "account": "ACCOUNT", "household": "HOUSEHOLD",
           "patient": "BENEFICIARY", "neighbour": "BENEFICIARY", "commune_point": "SUBMISSION_POINT"}
_BIG_REGIONS = np.array([5, 3, 6, 2, 0])
SALARIES = REGIMES.index("SALARIES")
_ONCO_SPECIALTIES = ("ONCOLOGIE", "ONCOLOGIE", "HEMATOLOGIE", "RHUMATOLOGIE", "GASTRO_ENTEROLOGIE")
_CARAVAN_VARIANTS = ("cataract", "dental", "screening")


@dataclass
class Group:
    """One look-alike: its kind, members (role -> indices in their own id space), and what
    its weekly dossiers need (patients, region, start week, weekly volume, variant)."""

    group_id: str
    kind: str
    index: int
    members: dict[str, np.ndarray]
    patients: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    variant: str = ""
    region: int = 0
    start_week: int = 0
    weekly: float = 0.0
    seen: set = field(default_factory=set)


@dataclass
class LookAlikes:
    """Every planted look-alike group, the data-quality noise, and the claims labelled per
    group (emergency surgery, mixed dossiers) once the weeks are drawn."""

    groups: list[Group]
    noise: Noise | None = None
    claims: dict[int, list[np.ndarray]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Group]:
        """The groups of one kind."""
        return [g for g in self.groups if g.kind == kind]

    def index(self, kind: str) -> int:
        """Index of the first group of ``kind`` (-1 if none)."""
        found = self.of(kind)
        return found[0].index if found else -1


def plant_lookalikes(rng: np.random.Generator, params: WorldParams, pop: Population, prov: ProviderTable,
                     intensity: float, volume: float, n_weeks: int, ref_year: int, avoid: set[int]) -> LookAlikes:
    """Choose or add every look-alike's providers and patients; edits ``pop`` and ``prov``.

    ``avoid`` holds the providers of planted rings, never reused here, so a look-alike is
    never also a fraudster.
    """
    used = set(avoid)
    groups: list[Group] = []
    dist = region_distance_km()
    people = _People(pop, ref_year)

    def add(kind: str, members: dict, **kw) -> Group:
        g = Group(f"LK-{len(groups) + 1:04d}", kind, len(groups), {k: np.asarray(v, np.int64)
                                                                  for k, v in members.items()}, **kw)
        groups.append(g)
        return g

    def pick(ptype: str, region: int, role: str | None = None, surgeons: bool = False) -> int:
        cands = prov.of(ptype, region, role)
        if surgeons:
            cands = np.array([c for c in cands if (prov.role[prov.attached(c)] == "surgeon").any()], np.int64)
        free = np.array([c for c in cands.tolist() if c not in used], np.int64)
        if len(free) == 0:
            free = np.array([c for c in prov.of(ptype, None, role).tolist() if c not in used], np.int64)
        # Look-alikes are busy places: take the most popular of a few candidates.
        few = rng.choice(free, size=min(5, len(free)), replace=False)
        chosen = int(few[np.argmax(prov.popularity[few])])
        used.add(chosen)
        return chosen

    def size(name: str, low: int = 4) -> int:
        return max(low, int(round(params.values[name] * volume)))

    for _ in range(params.per_unit("dialysis_per_unit", intensity)):
        r = int(rng.choice(12, p=REGION_WEIGHTS))
        centre = prov.append("CLINIC", pick("HOSPITAL", r), popularity=0.0)[0]
        nephro = prov.append("DOCTOR", centre, int(rng.integers(1, 3)), specialty="NEPHROLOGIE",
                             role="nephrologist", attach_to=centre)
        patients = people.take(rng, r, size("dialysis_patients"), min_age=25)
        pop.ald[patients] = True
        add("dialysis", {"centre": [centre], "nephrologist": nephro}, patients=patients, region=r)
    for _ in range(params.per_unit("oncologists_per_unit", intensity)):
        r = int(rng.choice(_BIG_REGIONS))
        spec = str(rng.choice(_ONCO_SPECIALTIES))
        doctor = prov.append("DOCTOR", pick("CLINIC", r), specialty=spec, role="specialist", popularity=1.0)[0]
        pharmacies = prov.append("PHARMACY", doctor, int(rng.integers(1, 3)), popularity=1.0)
        patients = people.take(rng, r, size("oncology_patients"), min_age=30)
        pop.ald[patients] = True
        add("oncology_injectables", {"specialist": [doctor], "pharmacy": pharmacies}, patients=patients,
            region=r, variant=spec)
    for _ in range(params.per_unit("gp_pharmacy_per_unit", intensity)):
        r = int(rng.choice(12, p=REGION_WEIGHTS))
        gp = pick("DOCTOR", r, role="gp")
        prov.popularity[gp] *= 2.0
        pharmacy = prov.append("PHARMACY", gp, popularity=1.0)
        add("gp_pharmacy_next_door", {"gp": [gp], "pharmacy": pharmacy}, region=r)
    ngo = 0
    for i in range(params.per_unit("caravans_per_unit", intensity)):
        variant = _CARAVAN_VARIANTS[(i + int(rng.integers(0, 3))) % 3]
        r = int(rng.choice(_BIG_REGIONS))
        near = np.flatnonzero(dist[r] <= params.caravan_km)
        home = int(rng.choice(near))
        point = people.busy_point(rng, home)
        patients = people.at_point(rng, point, size("caravan_size", 10),
                                   min_age=55 if variant == "cataract" else 18)
        if variant == "cataract":
            clinic = pick("CLINIC", r, surgeons=True)
            surgeon = prov.append("DOCTOR", clinic, specialty="OPHTALMOLOGIE", role="surgeon", popularity=0.5,
                                  attach_to=clinic)
            members = {"clinic": [clinic], "surgeon": surgeon}
        elif variant == "dental":
            members = {"dentist": [pick("DENTIST", home)]}
        else:
            members = {"doctor": [pick("DOCTOR", home, role="gp")], "lab": [pick("LAB", home)]}
        ngo += 1
        members |= {"coordinator": [REFERRER_NGO + ngo], "commune_point": [point]}
        add("ngo_caravan", members, patients=patients, variant=variant, region=home,
            start_week=int(rng.integers(0, max(1, n_weeks - 1))))
    for i in range(params.per_unit("social_workers_per_unit", intensity)):
        r = int(rng.choice(_BIG_REGIONS))
        hospital = pick("HOSPITAL", r)
        pool = people.take(rng, r, size("social_worker_weekly") * n_weeks * 2, regime=TADAMON)
        add("social_worker", {"hospital": [hospital], "social_worker": [REFERRER_SOCIAL + i + 1],
                              "service_phone": [PHONE_SERVICE + i + 1]},
            patients=pool, region=r, weekly=max(2.0, params.social_worker_weekly * volume))
    for _ in range(params.per_unit("referral_clinics_per_unit", intensity)):
        r = int(rng.choice(_BIG_REGIONS))
        clinic = pick("CLINIC", r, surgeons=True)
        prov.append("DOCTOR", clinic, int(rng.integers(3, 6)), specialty="CHIRURGIE_GENERALE", role="surgeon",
                    popularity=0.5, attach_to=clinic)
        att = prov.attached(clinic)
        near = np.flatnonzero(dist[r] <= params.referral_catchment_km)
        pool = np.concatenate([people.take(rng, int(q), size("referral_weekly") * n_weeks // len(near) + 5,
                                           regime=TADAMON if rng.random() < 0.6 else None) for q in near])
        add("referral_clinic", {"clinic": [clinic], "surgeon": att[prov.role[att] == "surgeon"]},
            patients=pool, region=r, weekly=params.referral_weekly * volume)
    for _ in range(params.per_unit("growing_clinics_per_unit", intensity)):
        r = int(rng.choice(12, p=REGION_WEIGHTS))
        clinic = prov.append("CLINIC", pick("CLINIC", r), popularity=0.0)[0]
        surgeons = prov.append("DOCTOR", clinic, int(rng.integers(2, 4)), specialty="CHIRURGIE_GENERALE",
                               role="surgeon", popularity=0.5, attach_to=clinic)
        prov.append("DOCTOR", clinic, specialty="ANESTHESIE_REANIMATION", role="anaesthetist", popularity=0.5,
                    attach_to=clinic)
        start = int(rng.integers(int(n_weeks * 0.2), max(int(n_weeks * 0.6), int(n_weeks * 0.2)) + 1))
        pool = people.take(rng, r, size("growing_weekly_step") * n_weeks * n_weeks)
        add("growing_clinic", {"clinic": [clinic], "surgeon": surgeons}, patients=pool, region=r,
            start_week=start, weekly=params.growing_weekly_step * volume)
    for i in range(params.per_unit("village_phones_per_unit", intensity)):
        r = int(rng.choice(12, p=REGION_WEIGHTS))
        households = people.elderly_households(rng, people.busy_point(rng, r), size("village_households", 5))
        pop.hh_phone[households] = PHONE_VILLAGE + i + 1
        neighbours = np.flatnonzero(np.isin(pop.hh[:pop.n_sampled], households))
        add("village_phone", {"village_phone": [PHONE_VILLAGE + i + 1], "neighbour": neighbours}, region=r)
    for i in range(params.per_unit("tiers_payant_accounts_per_unit", intensity)):
        r = int(rng.choice(_BIG_REGIONS))
        cands = people.households_of(r, regimes=(PENSIONNES, SALARIES))
        k = min(len(cands), max(50, int(params.tiers_payant_households * min(intensity, 1.0))))
        households = rng.choice(cands, size=k, replace=False)
        pop.hh_account[households] = ACCOUNT_SHARED + i + 1
        add("tiers_payant_account", {"account": [ACCOUNT_SHARED + i + 1]}, region=r)
    cash = people.households_of(None, regimes=(TADAMON,))
    add("tadamon_cash", {"household": cash[pop.hh_account[cash] < 0]})
    add("mixed_dossier", {})
    add("emergency_surgery", {}, weekly=params.emergency_rate)
    return LookAlikes(groups)


def bind_regular(la: LookAlikes, pop: Population, rng: np.random.Generator, loyalty: float) -> None:
    """Send most households of each paired GP to the pharmacy next door (after the usual
    GPs and pharmacies are assigned)."""
    for g in la.of("gp_pharmacy_next_door"):
        mine = np.flatnonzero(pop.hh_gp == g.members["gp"][0])
        moved = mine[rng.random(len(mine)) < loyalty]
        pop.hh_pharmacy[moved] = g.members["pharmacy"][0]
        # The GP's patients are his neighbours: bring a few more households of his region.
        if len(mine) < 40:
            extra = np.flatnonzero((pop.hh_region[:len(pop.hh_gp)] == g.region) & (pop.hh_gp != g.members["gp"][0]))
            extra = rng.choice(extra, size=min(len(extra), 40 - len(mine)), replace=False)
            pop.hh_gp[extra] = g.members["gp"][0]
            pop.hh_pharmacy[extra] = g.members["pharmacy"][0]


def lookalikes_frame(la: LookAlikes, pop: Population, n_agencies: int) -> pd.DataFrame:
    """``lookalikes.csv``: one row per (kind, entity, group), in group then role order."""
    format_of = {"PROVIDER": provider_ids, "DOCTOR": provider_ids, "REFERRER": referrer_ids, "PHONE": phone_ids,
                 "ACCOUNT": account_ids, "BENEFICIARY": beneficiary_ids,
                 "HOUSEHOLD": lambda idx: beneficiary_ids(pop.hh_principal[idx]),
                 "SUBMISSION_POINT": lambda idx: point_ids(idx, n_agencies)}
    parts = []
    for g in la.groups:
        members = dict(g.members)
        if len(g.patients) and g.kind in ("dialysis", "oncology_injectables", "ngo_caravan"):
            members["patient"] = g.patients
        elif g.seen:
            members["patient"] = np.array(sorted(g.seen), np.int64)
        for role, idx in members.items():
            etype = _ENTITY[role]
            ids = format_of[etype](np.unique(idx))
            parts.append(pd.DataFrame({"kind": g.kind, "entity_type": etype, "entity_id": ids,
                                       "group_id": g.group_id, "role": role}))
        claims = la.claims.get(g.index)
        if claims:
            ids = np.sort(np.concatenate(claims))
            parts.append(pd.DataFrame({"kind": g.kind, "entity_type": "CLAIM", "entity_id": ids,
                                       "group_id": g.group_id, "role": "claim"}))
    if la.noise is not None:
        parts.append(noise_rows(la.noise, len(la.groups) + 1, n_agencies))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(LOOKALIKE_COLUMNS))
    return frame[list(LOOKALIKE_COLUMNS)].astype(object)


class _People:
    """Who can be chosen for a look-alike: persons and households by region, age and regime."""

    def __init__(self, pop: Population, ref_year: int) -> None:
        self.pop = pop
        n = pop.n_sampled
        self.n_hh = int(pop.hh[n - 1]) + 1
        self.age = ref_year - pop.birth_year[:n].astype(np.int64)
        order = np.argsort(pop.region[:n], kind="stable")
        bounds = np.searchsorted(pop.region[:n][order], np.arange(13))
        self.by_region = [order[bounds[r]:bounds[r + 1]] for r in range(12)]
        self.taken: set[int] = set()

    def take(self, rng: np.random.Generator, region: int, k: int, *, min_age: int = 0,
             regime: int | None = None) -> np.ndarray:
        """Up to ``k`` persons of a region not yet given to another look-alike."""
        pop = self.pop
        cands = self.by_region[region]
        ok = self.age[cands] >= min_age
        if regime is not None:
            ok &= pop.regime[cands] == regime
        cands = cands[ok]
        cands = cands[~np.isin(cands, np.fromiter(self.taken, np.int64, len(self.taken)))]
        chosen = np.sort(rng.choice(cands, size=min(k, len(cands)), replace=False))
        self.taken.update(chosen.tolist())
        return chosen

    def busy_point(self, rng: np.random.Generator, region: int) -> int:
        """One of the busiest proximity points of a region (a commune's point)."""
        pop = self.pop
        hh = np.flatnonzero(pop.hh_region[:self.n_hh] == region)
        points, counts = np.unique(pop.hh_point[hh], return_counts=True)
        top = points[np.argsort(-counts, kind="stable")[:5]]
        return int(rng.choice(top))

    def at_point(self, rng: np.random.Generator, point: int, k: int, min_age: int) -> np.ndarray:
        """Up to ``k`` persons of the households filing at ``point``."""
        pop = self.pop
        hh = np.flatnonzero(pop.hh_point[:self.n_hh] == point)
        persons = np.flatnonzero(np.isin(pop.hh[:pop.n_sampled], hh) & (self.age >= min_age))
        chosen = np.sort(rng.choice(persons, size=min(k, len(persons)), replace=False))
        self.taken.update(chosen.tolist())
        return chosen

    def elderly_households(self, rng: np.random.Generator, point: int, k: int) -> np.ndarray:
        """Up to ``k`` households of ``point`` whose principal is 60 or older."""
        pop = self.pop
        hh = np.flatnonzero(pop.hh_point[:self.n_hh] == point)
        old = hh[self.age[pop.hh_principal[hh]] >= 60]
        return np.sort(rng.choice(old, size=min(k, len(old)), replace=False))

    def households_of(self, region: int | None, regimes: tuple[int, ...]) -> np.ndarray:
        """Households of a region (or all) under the given regimes."""
        pop = self.pop
        ok = np.isin(pop.hh_regime[:self.n_hh], regimes)
        if region is not None:
            ok &= pop.hh_region[:self.n_hh] == region
        return np.flatnonzero(ok)
