"""One week of the legitimate look-alikes' dossiers, added to a :class:`WeekBuilder`.

Every dossier here is ordinary care (no fraud tag). Those of kinds labelled claim by
claim (emergency surgery) carry their group's index as ``lk``.
"""

from __future__ import annotations

import numpy as np

from ingest.synthetic.catalogue import ACTS
from ingest.synthetic.legit import Care, week_days
from ingest.synthetic.lines import PROXIMITY_POINT, WeekBuilder
from ingest.synthetic.lookalikes import Group, LookAlikes

__all__ = ["lookalike_week"]


def lookalike_week(b: WeekBuilder, la: LookAlikes, care: Care, rng: np.random.Generator, week: int,
                   n_people: int, last_day: int) -> None:
    """Add this week's dossiers of every look-alike group."""
    for g in la.groups:
        handler = _HANDLERS.get(g.kind)
        if handler is not None:
            handler(b, g, care, rng, week, last_day)
        elif g.kind == "emergency_surgery":
            _emergency(b, g, care, rng, week, int(rng.poisson(g.weekly * n_people * care.volume)))


def _dialysis(b: WeekBuilder, g: Group, care: Care, rng: np.random.Generator, week: int, last_day: int) -> None:
    """Three sessions a week (Mon-Wed-Fri or Tue-Thu-Sat), billed weekly by the centre; a
    monthly blood test."""
    bene = g.patients
    n = len(bene)
    if n == 0:
        return
    centre = np.full(n, g.members["centre"][0])
    nephro = g.members["nephrologist"][bene % len(g.members["nephrologist"])]
    contact = b.household_contact(rng, bene, centre, 1.0)
    dos = b.add_dossiers(bene, week * 7 + bene % 2, **contact)
    for offset in (0, 2, 4):
        b.add_lines(dos, centre, nephro, ACTS.consult["HD"], offset=offset, factor=rng.uniform(1.0, 1.1, n))
    monthly = np.flatnonzero((bene + week) % 4 == 0)
    b.add_lines(dos[monthly], centre[monthly], nephro[monthly], ACTS.coef("B", np.full(len(monthly), 120)))


def _oncology(b: WeekBuilder, g: Group, care: Care, rng: np.random.Generator, week: int, last_day: int) -> None:
    """Every three weeks: a consultation and one or two boxes of the patient's treatment at
    one of the pharmacies by the specialist's door."""
    bene = g.patients[(g.patients + week) % 3 == 0]
    n = len(bene)
    if n == 0:
        return
    doctor = np.full(n, g.members["specialist"][0])
    pharmacies = g.members["pharmacy"]
    pharmacy = pharmacies[(bene // 3) % len(pharmacies)]
    contact = b.household_contact(rng, bene, pharmacy, 0.6)
    dos = b.add_dossiers(bene, week_days(rng, week, n), **contact)
    b.add_lines(dos, doctor, doctor, ACTS.consult["CS"], factor=rng.lognormal(0.3, 0.1, n))
    rows = np.repeat(np.arange(n), 1 + (bene % 2))
    drug = ACTS.oncology[(bene[rows] * 7) % len(ACTS.oncology)]
    b.add_lines(dos[rows], pharmacy[rows], doctor[rows], drug, offset=rng.integers(0, 2, len(rows)))


def _caravan(b: WeekBuilder, g: Group, care: Care, rng: np.random.Generator, week: int, last_day: int) -> None:
    """The campaign week: villagers of one commune screened together, the coordinator
    declared as referrer; cataract patients operated at one clinic over three days."""
    if week != g.start_week:
        return
    bene = g.patients
    n = len(bene)
    if n == 0:
        return
    day = np.full(n, week * 7 + int(rng.integers(0, 3)))
    coordinator = np.full(n, g.members["coordinator"][0])
    point = np.full(n, g.members["commune_point"][0])
    contact = b.household_contact(rng, bene, np.full(n, -1), 0.0)
    contact |= {"channel": np.full(n, PROXIMITY_POINT), "point": point, "referrer": coordinator}
    if g.variant == "cataract":
        surgeon = np.full(n, g.members["surgeon"][0])
        clinic = np.full(n, g.members["clinic"][0])
        dos = b.add_dossiers(bene, day, **contact)
        b.add_lines(dos, surgeon, surgeon, ACTS.consult["CS"], factor=1.0)
        op = np.flatnonzero(rng.random(n) < 0.6)
        m = len(op)
        sday = np.minimum(day[op] + 7 + rng.integers(0, 3, m), last_day)
        direct = b.household_contact(rng, bene[op], clinic[op], 1.0) | {"referrer": coordinator[op]}
        sdos = b.add_dossiers(bene[op], sday, **direct)
        b.add_lines(sdos, clinic[op], surgeon[op], ACTS.coef("K", rng.choice([60, 70, 80], m)), factor=1.1,
                    prior=True)
        b.add_lines(sdos, clinic[op], surgeon[op], ACTS.coef("B", np.full(m, 40)))
        b.add_lines(sdos, clinic[op], surgeon[op], rng.choice(ACTS.drugs, m))
    elif g.variant == "dental":
        dentist = np.full(n, g.members["dentist"][0])
        dos = b.add_dossiers(bene, day + rng.integers(0, 2, n), **contact)
        rows = np.repeat(np.arange(n), rng.integers(1, 4, n))
        b.add_lines(dos[rows], dentist[rows], dentist[rows], ACTS.coef("D", rng.choice([5, 10, 15, 30], len(rows))))
    else:
        doctor = np.full(n, g.members["doctor"][0])
        lab = np.full(n, g.members["lab"][0])
        dos = b.add_dossiers(bene, day, **contact)
        b.add_lines(dos, doctor, doctor, ACTS.consult["C"], factor=1.0)
        rows = np.repeat(np.arange(n), 2)
        b.add_lines(dos[rows], lab[rows], doctor[rows], ACTS.coef("B", np.tile([20, 40], n)), offset=1)


def _social_worker(b: WeekBuilder, g: Group, care: Care, rng: np.random.Generator, week: int,
                   last_day: int) -> None:
    """Tadamon patients of the hospital's region referred by its social worker; the social
    service's phone on the dossiers of those without one."""
    n = int(rng.poisson(g.weekly))
    if n == 0 or len(g.patients) == 0:
        return
    bene = g.patients[rng.integers(0, len(g.patients), n)]
    hosp = np.full(n, g.members["hospital"][0])
    doctor = care.prov.pick_attached(rng, hosp)
    contact = b.household_contact(rng, bene, hosp, 0.7)
    contact["referrer"] = np.full(n, g.members["social_worker"][0])
    service = (contact["phone"] < 0) | (rng.random(n) < 0.3)
    contact["phone"] = np.where(service, g.members["service_phone"][0], contact["phone"])
    stay = rng.choice([1, 2, 3, 4, 6, 9], n)
    dos = b.add_dossiers(bene, week_days(rng, week, n, sunday=True), **contact)
    b.add_lines(dos, hosp, doctor, ACTS.consult["PJ_HOSPITAL"], qty=stay, stay=stay, prior=True)
    rows = np.repeat(np.arange(n), rng.integers(1, 4, n))
    b.add_lines(dos[rows], hosp[rows], doctor[rows], ACTS.coef("B", rng.choice([40, 80, 120, 200], len(rows))))
    g.seen.update(bene.tolist())


def _referral(b: WeekBuilder, g: Group, care: Care, rng: np.random.Generator, week: int, last_day: int) -> None:
    _planned_surgery(b, g, care, rng, week, int(rng.poisson(g.weekly)))


def _growing(b: WeekBuilder, g: Group, care: Care, rng: np.random.Generator, week: int, last_day: int) -> None:
    if week >= g.start_week:
        _planned_surgery(b, g, care, rng, week, int(rng.poisson(g.weekly * (week - g.start_week + 1))))


def _planned_surgery(b: WeekBuilder, g: Group, care: Care, rng: np.random.Generator, week: int, n: int) -> None:
    """Surgery after a consultation by the surgeon one to four weeks before."""
    if n == 0 or len(g.patients) == 0:
        return
    bene = g.patients[rng.integers(0, len(g.patients), n)]
    clinic = np.full(n, g.members["clinic"][0])
    surgeon = g.members["surgeon"][rng.integers(0, len(g.members["surgeon"]), n)]
    day = week_days(rng, week, n)
    cdos = b.add_dossiers(bene, np.maximum(day - rng.integers(7, 29, n), 0),
                          **b.household_contact(rng, bene, surgeon, 0.0))
    b.add_lines(cdos, surgeon, surgeon, ACTS.consult["CS"], factor=rng.lognormal(0.4, 0.2, n))
    coef = rng.choice([30, 40, 50, 60, 80, 100, 120, 150], n)
    stay = rng.choice([0, 1, 2, 2, 3, 4], n)
    dos = b.add_dossiers(bene, day, **b.household_contact(rng, bene, clinic, 0.85))
    b.add_lines(dos, clinic, surgeon, ACTS.coef("K", coef), factor=rng.uniform(1.2, 1.6, n), prior=True)
    st = np.flatnonzero(stay > 0)
    b.add_lines(dos[st], clinic[st], surgeon[st], ACTS.consult["PJ_CLINIC"], qty=stay[st], stay=stay[st],
                factor=rng.uniform(1.0, 1.4, len(st)), prior=True)
    b.add_lines(dos, clinic, surgeon, ACTS.coef("B", rng.choice([80, 120, 160], n)))


def _emergency(b: WeekBuilder, g: Group, care: Care, rng: np.random.Generator, week: int, n: int) -> None:
    """Emergency surgery at a hospital or clinic, any day, no prior consultation and no
    prior authorisation, often followed by intensive care."""
    if n == 0:
        return
    pop = b.pop
    bene = pop.sample(rng, n)
    at_hospital = rng.random(n) < 0.65
    facility = np.where(at_hospital, care.pickers["HOSPITAL"].pick(rng, pop.region[bene]),
                        care.pickers["CLINIC"].pick(rng, pop.region[bene]))
    doctor = care.prov.pick_attached(rng, facility)
    ok = doctor >= 0
    bene, facility, doctor = bene[ok], facility[ok], doctor[ok]
    n = len(bene)
    dos = b.add_dossiers(bene, week_days(rng, week, n, sunday=True), lk=g.index,
                         **b.household_contact(rng, bene, facility, 0.9))
    b.add_lines(dos, facility, doctor, ACTS.coef("K", rng.choice([40, 60, 80, 100, 150, 200], n)),
                factor=rng.uniform(1.1, 1.5, n))
    stay = rng.integers(1, 8, n)
    icu = rng.random(n) < 0.3
    ward = np.where(at_hospital[ok], ACTS.consult["PJ_HOSPITAL"], ACTS.consult["PJ_CLINIC"])
    b.add_lines(dos, facility, doctor, np.where(icu, ACTS.consult["PJ_ICU"], ward), qty=stay, stay=stay)
    b.add_lines(dos, facility, doctor, ACTS.coef("B", rng.choice([80, 120, 200], n)))


_HANDLERS = {"dialysis": _dialysis, "oncology_injectables": _oncology, "ngo_caravan": _caravan,
             "social_worker": _social_worker, "referral_clinic": _referral, "growing_clinic": _growing}
