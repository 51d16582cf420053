"""Planting fraud: choosing the members of each ring (providers, doctors, recruiters,
patients) before any week is drawn, and writing the ground-truth labels.

Ring members are ordinary providers of the table: they keep their ordinary patients
(more of them under camouflage), which is what makes rings hard to see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingest.schema import LABEL_COLUMNS
from ingest.synthetic.catalogue import REGION_WEIGHTS, region_distance_km
from ingest.synthetic.ids import (
    ACCOUNT_RECRUITER, PHONE_RECRUITER, account_ids, beneficiary_ids, phone_ids, point_ids, provider_ids,
    referrer_ids,
)
from ingest.synthetic.population import PENSIONNES, TADAMON, Population
from ingest.synthetic.providers import ProviderTable
from ingest.synthetic.world import WorldParams

__all__ = ["Ring", "Recruiter", "plant_rings", "labels_frame", "recruiter_frames", "SCENARIOS",
           "RECRUITER_COLUMNS", "RECRUITER_IDENTIFIER_COLUMNS"]

SCENARIOS = ("recruiter_funnel", "kickback_loop", "phantom_patients", "pharmacy_ring", "lab_mill", "upcoder")
_PERSON_ROLES = {"clinic": "PROVIDER", "lab": "PROVIDER", "imaging": "PROVIDER", "pharmacy": "PROVIDER",
                 "surgeon": "DOCTOR", "prescriber": "DOCTOR"}
_PATIENT_ROLE = {"recruiter_funnel": "recruited_patient", "phantom_patients": "phantom_patient",
                 "kickback_loop": "looped_patient", "pharmacy_ring": "non_ald_patient"}
RECRUITER_COLUMNS = ("recruiter_id", "ring_id", "beneficiary_id", "household_id")
RECRUITER_IDENTIFIER_COLUMNS = ("recruiter_id", "identifier_type", "identifier")
_BIG_REGIONS = np.array([5, 3, 6, 2, 0])  # Casablanca, Rabat, Marrakech, Fes, Tanger (0-based)


@dataclass
class Recruiter:
    """An intermediary: generator id, home region, the households he brings, and the
    phones/accounts/submission point written on their dossiers (``hh_phone[i]`` is the
    recruiter phone index used by household ``households[i]``). ``seen`` collects the
    patients he brought and ``used`` the (identifier type, index) pairs actually written
    on their dossiers, for the ground truth only."""

    number: int
    region: int
    households: np.ndarray
    hh_phone: np.ndarray
    hh_account: np.ndarray
    point: int
    rotating: bool = False
    seen: set = field(default_factory=set)
    used: set = field(default_factory=set)

    @property
    def intermediary_id(self) -> str:
        """The generator's own id of this intermediary (never in the claims)."""
        return f"INT-{self.number:04d}"


@dataclass
class Ring:
    """One planted ring (or a lone upcoder when ``ring_id`` is empty), with its own
    camouflage and variants (``diluted``, ``two_regions``, ``fabricated_consult``,
    ``coefficient``). A diluted ring keeps ``legit_target`` of its members' lines
    ordinary; ``line_counts`` holds their (ordinary, fraudulent) lines so far."""

    ring_id: str
    scenario: str
    tag: int
    members: dict[str, np.ndarray]
    patients: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    recruiters: list[Recruiter] = field(default_factory=list)
    region: int = 0
    camouflage: float = 0.0
    variants: frozenset = frozenset()
    legit_target: float = 0.0
    line_counts: list = field(default_factory=lambda: [0, 0])
    seen_patients: set = field(default_factory=set)

    def describe(self) -> dict:
        """What ``world.json`` records of the ring."""
        return {"ring_id": self.ring_id, "scenario": self.scenario, "camouflage": round(self.camouflage, 3),
                "legit_target": round(self.legit_target, 3),
                "variants": sorted(self.variants), "recruiters": [r.intermediary_id for r in self.recruiters],
                "rotating": [r.intermediary_id for r in self.recruiters if r.rotating]}


def plant_rings(rng: np.random.Generator, pop: Population, prov: ProviderTable, intensity: float,
                params: WorldParams, volume: float) -> list[Ring]:
    """Choose the members and variants of every ring; boosts ring providers' ordinary
    popularity under camouflage (and much more for diluted rings).

    Adds recruiter submission points to ``pop`` (``n_points``) and phantom persons.

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator's seeded random source.
    pop : Population
    prov : ProviderTable
    intensity : float
        Population size per scale unit (1 = scale 1 over 12 weeks).
    camouflage : float
        0..1: how much the fraudsters blend in.
    volume : float
        Weekly volume multiplier of the planted activity.
    """
    camouflage = params.camouflage

    def ring_camouflage() -> float:
        return float(min(1.0, camouflage + rng.uniform(0.0, params.camouflage_jitter)))

    def variants(*optional: tuple[str, float]) -> frozenset:
        drawn = {name for name, share in (("diluted", params.diluted_share), *optional) if rng.random() < share}
        return frozenset(drawn)

    def far_from(region: int) -> np.ndarray:
        far = np.flatnonzero(dist[region] > params.far_km)
        return far if len(far) else np.argsort(dist[region])[-3:]

    def neighbour(region: int) -> int:
        return int(np.argsort(dist[region], kind="stable")[1])

    used: set[int] = set()
    rings: list[Ring] = []
    by_region = _RegionIndex(pop)
    dist = region_distance_km()
    counter = {"ring": 0, "recruiter": 0}

    def next_id() -> str:
        counter["ring"] += 1
        return f"RING-{counter['ring']:03d}"

    def take(candidates: np.ndarray, k: int = 1) -> np.ndarray:
        free = np.array([c for c in candidates.tolist() if c not in used], dtype=np.int64)
        if len(free) == 0:
            return free
        chosen = rng.choice(free, size=min(k, len(free)), replace=False)
        used.update(chosen.tolist())
        return np.sort(chosen)

    def clinic_with_surgeons(regions: np.ndarray) -> tuple[int, int]:
        for r in list(regions) + list(rng.permutation(12)):
            # A surgeon may be attached to several clinics: one taken by an earlier ring does not count.
            cands = np.array([c for c in prov.of("CLINIC", int(r)) if c not in used
                              and free_surgeon(c)], dtype=np.int64)
            if len(cands):
                c = int(take(cands)[0])
                return c, int(r)
        return -1, -1

    def free_surgeon(clinic: int) -> bool:
        att = prov.attached(clinic)
        return any(d not in used for d in att[prov.role[att] == "surgeon"].tolist())

    def surgeons_of(clinic: int, k: int) -> np.ndarray:
        att = prov.attached(clinic)
        return take(att[prov.role[att] == "surgeon"], k)

    def local(ptype: str, region: int, k: int = 1, role: str | None = None) -> np.ndarray:
        got = take(prov.of(ptype, region, role), k)
        return got if len(got) else take(prov.of(ptype, None, role), k)

    count = {s: params.per_unit("rings_per_unit", intensity) for s in SCENARIOS}
    count["recruiter_funnel"] = params.per_unit("funnels_per_unit", intensity)
    tag = 0
    for _ in range(count["recruiter_funnel"]):
        clinic, r = clinic_with_surgeons(rng.permutation(_BIG_REGIONS))
        if clinic < 0:
            break
        members = {"clinic": np.array([clinic]), "surgeon": surgeons_of(clinic, int(rng.integers(1, 3))),
                   "lab": local("LAB", r), "imaging": local("IMAGING", r)}
        far = far_from(r)
        far_p = REGION_WEIGHTS[far] / REGION_WEIGHTS[far].sum()
        cam, kinds = ring_camouflage(), variants(("two_regions", params.two_region_share))
        homes = [int(rng.choice(far, p=far_p)) for _k in range(int(rng.integers(1, 3)))]
        if "two_regions" in kinds and len(far) > 1:
            homes = [int(h) for h in rng.choice(far, size=2, replace=False, p=far_p)]
        recruiters = []
        for home in homes:
            counter["recruiter"] += 1
            k = int(max(6, params.recruiter_households * volume))
            recruiters.append(_recruiter(rng, pop, by_region, counter["recruiter"], home, cam, k,
                                         bool(rng.random() < params.rotating_share)))
        rings.append(Ring(next_id(), "recruiter_funnel", tag, members, recruiters=recruiters, region=r,
                          camouflage=cam, variants=kinds))
        tag += 1
    for _ in range(count["kickback_loop"]):
        anchor, r = clinic_with_surgeons(rng.permutation(_BIG_REGIONS))
        if anchor < 0:
            break
        clinics = [anchor]
        kinds = variants(("two_regions", params.two_region_share))
        order = np.argsort(dist[r], kind="stable")
        # A ring spanning two regions takes its other clinics from the nearest other region first.
        order = np.concatenate([order[1:], order[:1]]) if "two_regions" in kinds else order
        for rr in order:
            for c in prov.of("CLINIC", int(rr)):
                if len(clinics) < int(rng.integers(2, 4)) and c not in used and len(prov.attached(c)):
                    used.add(int(c))
                    clinics.append(int(c))
        surgeons = np.concatenate([surgeons_of(c, 2) for c in clinics])[:5]
        patients = _region_people(rng, by_region, r, int(max(10, 40 * volume)))
        rings.append(Ring(next_id(), "kickback_loop", tag, {"clinic": np.array(clinics), "surgeon": surgeons},
                          patients=patients, region=r, camouflage=ring_camouflage(), variants=kinds))
        tag += 1
    phantom_specs = []
    for _ in range(count["phantom_patients"]):
        clinic, r = clinic_with_surgeons(rng.permutation(12))
        if clinic < 0:
            break
        members = {"clinic": np.array([clinic]), "surgeon": surgeons_of(clinic, int(rng.integers(1, 3)))}
        far = far_from(r)
        k = int(max(8, 30 * volume))
        regime = np.where(rng.random(k) < 0.6, TADAMON, PENSIONNES)
        phantom_specs.append((rng.integers(1928, 1953, k), rng.random(k) < 0.5, rng.choice(far, k), regime))
        rings.append(Ring(next_id(), "phantom_patients", tag, members, region=r, camouflage=ring_camouflage(),
                          variants=variants(("fabricated_consult", params.fabricated_consult_share))))
        tag += 1
    if phantom_specs:
        # Elderly people from far away, in one-person households, who never get ordinary care.
        new = pop.add_single_persons(*(np.concatenate(parts) for parts in zip(*phantom_specs)))
        bounds = np.cumsum([0] + [len(spec[0]) for spec in phantom_specs])
        phantom_rings = [ring for ring in rings if ring.scenario == "phantom_patients"]
        for ring, lo, hi in zip(phantom_rings, bounds[:-1], bounds[1:]):
            ring.patients = new[lo:hi]
    for _ in range(count["pharmacy_ring"]):
        r = int(rng.choice(12, p=REGION_WEIGHTS))
        kinds = variants(("two_regions", params.two_region_share))
        regions = [r, neighbour(r)] if "two_regions" in kinds else [r]
        prescribers = [local("DOCTOR", rr, 1, role="gp") for rr in regions]
        prescribers.append(local("DOCTOR", r, int(rng.integers(0, 3)), role="gp"))
        members = {"pharmacy": local("PHARMACY", r), "prescriber": np.sort(np.concatenate(prescribers))}
        want = int(max(12, 40 * volume))
        people = np.concatenate([_region_people(rng, by_region, rr, want * 3 // len(regions)) for rr in regions])
        patients = np.sort(people[~pop.ald[people] & pop.adult[people]][:want])
        rings.append(Ring(next_id(), "pharmacy_ring", tag, members, patients=patients, region=r,
                          camouflage=ring_camouflage(), variants=kinds))
        tag += 1
    for i in range(count["lab_mill"]):
        r = int(rng.choice(12, p=REGION_WEIGHTS))
        kind = "lab" if i % 2 == 0 else "imaging"
        kinds = variants(("two_regions", params.two_region_share))
        regions = [r, neighbour(r)] if "two_regions" in kinds else [r]
        n_doc = int(rng.integers(2, 4))
        prescribers = [local("DOCTOR", regions[j % len(regions)], 1) for j in range(n_doc)]
        members = {kind: local(kind.upper(), r), "prescriber": np.sort(np.concatenate(prescribers))}
        # The prescribers' ordinary patients, whom the mill bills far too much biology or imaging.
        want = int(max(50, 400 * volume)) // len(regions)
        patients = np.sort(np.concatenate([_region_people(rng, by_region, rr, want) for rr in regions]))
        rings.append(Ring(next_id(), "lab_mill", tag, members, patients=patients, region=r,
                          camouflage=ring_camouflage(), variants=kinds))
        tag += 1
    for _ in range(count["upcoder"]):
        clinic, r = clinic_with_surgeons(rng.permutation(12))
        if clinic < 0:
            break
        rings.append(Ring("", "upcoder", tag, {"clinic": np.array([clinic])}, region=r, camouflage=ring_camouflage(),
                          variants=variants(("coefficient", params.coefficient_upcoder_share))))
        tag += 1

    for ring in rings:
        boost = (1.0 + 3.0 * ring.camouflage) * (2.0 if ring.scenario == "upcoder" else 1.0)
        if "diluted" in ring.variants:
            # Many more ordinary patients, and fraud held to a share of the members' lines
            # (scenarios.fraud_week), so that 70-90% of their lines are legitimate care.
            boost *= rng.uniform(3.0, 6.0)
            ring.legit_target = float(rng.uniform(0.7, 0.9))
        for role, ids in ring.members.items():
            prov.popularity[ids] *= boost
    return rings


class _RegionIndex:
    """Persons and Tadamon households of each region, computed once for all rings."""

    def __init__(self, pop: Population) -> None:
        order = np.argsort(pop.region[:pop.n_sampled], kind="stable")
        bounds = np.searchsorted(pop.region[:pop.n_sampled][order], np.arange(13))
        self.people = [order[bounds[r]:bounds[r + 1]] for r in range(12)]
        n_hh = int(pop.hh[pop.n_sampled - 1]) + 1
        tadamon = np.flatnonzero(pop.hh_regime[:n_hh] == TADAMON)
        self.tadamon_households = [tadamon[pop.hh_region[tadamon] == r] for r in range(12)]


def _region_people(rng: np.random.Generator, index: _RegionIndex, region: int, k: int) -> np.ndarray:
    people = index.people[region]
    return np.sort(rng.choice(people, size=min(k, len(people)), replace=False))


def _recruiter(rng: np.random.Generator, pop: Population, index: _RegionIndex, number: int, region: int,
               camouflage: float, k: int, rotating: bool) -> Recruiter:
    """A recruiter with ``k`` Tadamon households of his region; under camouflage, or when
    ``rotating``, he rotates several phones and accounts, each written on fewer
    households' dossiers."""
    hh = index.tadamon_households[region]
    k = int(min(len(hh), k))
    households = np.sort(rng.choice(hh, size=k, replace=False))
    n_ids = int(rng.integers(3, 7)) if rotating else 1 + int(round(camouflage * rng.uniform(3, 6)))
    phones = PHONE_RECRUITER + number * 10 + np.arange(n_ids)
    accounts = ACCOUNT_RECRUITER + number * 10 + np.arange(n_ids)
    point = pop.n_points
    pop.n_points += 1
    return Recruiter(number, region, households, rng.choice(phones, k), rng.choice(accounts, k), point, rotating)


def labels_frame(rings: list[Ring], claim_labels: list[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Ground truth: ring members, recruiters, patients seen in fraudulent dossiers, and fraudulent claims.

    ``claim_labels`` holds, per week, (claim ids, tags) of the fraudulent dossiers.

    Parameters
    ----------
    rings : list of Ring
    claim_labels : list of (numpy.ndarray, numpy.ndarray)
    """
    rows: list[tuple[str, str, str, str, str]] = []
    for ring in rings:
        for role, ids in ring.members.items():
            for pid in provider_ids(np.sort(ids)):
                rows.append((_PERSON_ROLES[role], pid, ring.ring_id, role, ring.scenario))
        for rec in ring.recruiters:
            rows.append(("INTERMEDIARY", rec.intermediary_id, ring.ring_id, "recruiter", ring.scenario))
        if ring.scenario in _PATIENT_ROLE and ring.seen_patients:
            seen = np.array(sorted(ring.seen_patients), dtype=np.int64)
            for bid in sorted(beneficiary_ids(seen)):
                rows.append(("BENEFICIARY", bid, ring.ring_id, _PATIENT_ROLE[ring.scenario], ring.scenario))
    by_tag = {r.tag: r for r in rings}
    for claim_ids, tags in claim_labels:
        for cid, t in zip(claim_ids.tolist(), tags.tolist()):
            rows.append(("CLAIM", cid, by_tag[t].ring_id, "fraudulent_claim", by_tag[t].scenario))
    return pd.DataFrame(rows, columns=list(LABEL_COLUMNS))


def recruiter_frames(rings: list[Ring], pop: Population) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ground truth per recruiter: which patients he brought, and the identifiers he used.

    Returns ``recruiter_id, ring_id, beneficiary_id, household_id`` (one row per patient
    seen in one of his dossiers) and ``recruiter_id, identifier_type, identifier`` (the
    phones, accounts, submission point and referrer id written on those dossiers, not the
    patients' own). Complete once every week has been drawn; benchmarks only.

    Parameters
    ----------
    rings : list of Ring
    pop : Population
    """
    patients: list[tuple[str, str, str, str]] = []
    identifiers: list[tuple[str, str, str]] = []
    format_of = {"PHONE": phone_ids, "ACCOUNT": account_ids, "REFERRER": referrer_ids,
                 "SUBMISSION_POINT": lambda idx: point_ids(idx, pop.n_agencies)}
    for ring in rings:
        for rec in ring.recruiters:
            seen = np.array(sorted(rec.seen), dtype=np.int64)
            for bid, hid in zip(beneficiary_ids(seen), beneficiary_ids(pop.principal[seen])):
                patients.append((rec.intermediary_id, ring.ring_id, bid, hid))
            for kind in ("PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT"):
                idx = np.array(sorted(i for k, i in rec.used if k == kind), dtype=np.int64)
                for text in sorted(format_of[kind](idx)):
                    identifiers.append((rec.intermediary_id, kind, text))
    brought = pd.DataFrame(patients, columns=list(RECRUITER_COLUMNS))
    return (brought.sort_values(["recruiter_id", "beneficiary_id"], ignore_index=True),
            pd.DataFrame(identifiers, columns=list(RECRUITER_IDENTIFIER_COLUMNS)))
