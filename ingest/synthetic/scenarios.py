"""One week of each planted fraud scenario, added to a :class:`WeekBuilder`.

Every dossier written here carries its ring's tag, so its claim id lands in the
labels. Each ring's own ``camouflage`` (0..1) spreads cohorts over more days and makes
recruited households file more like ordinary ones; rotating recruiters file at their
households' usual points and never name themselves as referrer; phantom rings of the
``fabricated_consult`` variant bill a consultation before each surgery.
"""

from __future__ import annotations

import numpy as np

from ingest.synthetic.catalogue import ACTS
from ingest.synthetic.ids import ACCOUNT_PROVIDER, ACCOUNT_RECRUITER, PHONE_RECRUITER, REFERRER_RECRUITER
from ingest.synthetic.legit import week_days
from ingest.synthetic.lines import PROVIDER_DIRECT, PROXIMITY_POINT, WeekBuilder
from ingest.synthetic.rings import Ring

__all__ = ["fraud_week"]


def fraud_week(b: WeekBuilder, rings: list[Ring], rng: np.random.Generator, week: int, volume: float,
               last_day: int) -> None:
    """Add this week's fraudulent dossiers of every ring (upcoders act inside ordinary surgery)."""
    for ring in rings:
        handler = _HANDLERS.get(ring.scenario)
        if handler is None:
            continue
        if not ring.legit_target:
            handler(b, ring, rng, week, ring.camouflage, volume, last_day)
            continue
        # A diluted ring bills fraud only while its members' fraudulent lines stay under
        # (1 - target) / target of their ordinary ones.
        members = np.concatenate(list(ring.members.values()))
        before = b.lines_at(members)
        ring.line_counts[0] += before
        t = ring.legit_target
        if ring.line_counts[1] <= (1 - t) / t * ring.line_counts[0]:
            handler(b, ring, rng, week, ring.camouflage, volume, last_day)
            ring.line_counts[1] += b.lines_at(members) - before


def _direct(b: WeekBuilder, bene: np.ndarray, provider: np.ndarray, phone: np.ndarray, rng: np.random.Generator
            ) -> dict[str, np.ndarray]:
    n = len(bene)
    return {"channel": np.full(n, PROVIDER_DIRECT), "point": np.full(n, -1), "phone": phone,
            "account": ACCOUNT_PROVIDER + provider, "lag": 3 + rng.poisson(6, n)}


def _funnel(b: WeekBuilder, ring: Ring, rng: np.random.Generator, week: int, camouflage: float, volume: float,
            last_day: int) -> None:
    pop = b.pop
    clinic = int(ring.members["clinic"][0])
    surgeons = ring.members["surgeon"]
    lab, img = ring.members["lab"], ring.members["imaging"]
    for rec in ring.recruiters:
        if rng.random() > 0.55:
            continue
        size = int(max(3, rng.integers(5, 13) * volume * (1.0 - 0.4 * camouflage)))
        pick = rng.choice(len(rec.households), size=min(size, len(rec.households)), replace=False)
        hh = rec.households[pick]
        # The principal, or now and then a dependant of the recruited household.
        principal = pop.hh_principal[hh]
        spouse = np.minimum(principal + 1, pop.n - 1)
        bene = np.where((rng.random(len(hh)) < 0.25) & (pop.hh[spouse] == hh), spouse, principal)
        n = len(bene)
        # One trip day without camouflage; spread over up to five days with it.
        n_days = 1 + int(round(camouflage * 4))
        trip = week * 7 + np.sort(rng.choice(6, size=min(n_days, 6), replace=False))
        day = trip[rng.integers(0, len(trip), n)]
        own = rng.random(n) < 0.5 * camouflage
        phone = np.where(own & (pop.hh_phone[hh] >= 0), pop.hh_phone[hh], rec.hh_phone[pick])
        account = np.where(own & (pop.hh_account[hh] >= 0), pop.hh_account[hh], rec.hh_account[pick])
        at_point = rng.random(n) < (0.15 if rec.rotating else 0.85 - 0.4 * camouflage)
        point = np.where(at_point, rec.point, pop.hh_point[hh])
        named = 0.0 if rec.rotating else 0.15 * (1 - camouflage)
        referrer = np.where(rng.random(n) < named, REFERRER_RECRUITER + rec.number, -1)
        dos = b.add_dossiers(bene, day, channel=np.full(n, PROXIMITY_POINT), point=point, phone=phone,
                             account=account, referrer=referrer, lag=rng.integers(1, 6, n), tag=ring.tag)
        surgeon = surgeons[rng.integers(0, len(surgeons), n)]
        b.add_lines(dos, np.full(n, clinic), surgeon, ACTS.consult["CS"], factor=1.6)
        rows = np.repeat(np.arange(n), rng.integers(3, 7, n))
        b.add_lines(dos[rows], lab[rng.integers(0, len(lab), len(rows))], surgeon[rows],
                    ACTS.coef("B", rng.choice([100, 150, 200, 250, 300, 400], len(rows))))
        rows = np.repeat(np.arange(n), rng.integers(1, 3, n))
        b.add_lines(dos[rows], img[rng.integers(0, len(img), len(rows))], surgeon[rows],
                    ACTS.coef("Z", rng.choice([60, 100, 150, 200], len(rows))), factor=1.2)
        operated = np.flatnonzero(rng.random(n) < 0.65)
        if len(operated):
            m = len(operated)
            sday = np.minimum(day[operated] + rng.integers(0, 8, m), last_day)
            sdos = b.add_dossiers(bene[operated], sday, tag=ring.tag,
                                  **_direct(b, bene[operated], np.full(m, clinic), phone[operated], rng))
            stay = rng.integers(1, 4, m)
            b.add_lines(sdos, np.full(m, clinic), surgeon[operated],
                        ACTS.coef("K", rng.choice([60, 80, 100, 120, 150], m)), factor=1.5, prior=True)
            b.add_lines(sdos, np.full(m, clinic), surgeon[operated], ACTS.consult["PJ_CLINIC"], qty=stay,
                        stay=stay, factor=1.4, prior=True)
        ring.seen_patients.update(bene.tolist())
        rec.seen.update(bene.tolist())
        rec.used.update(("PHONE", int(v)) for v in np.unique(phone[phone >= PHONE_RECRUITER]).tolist())
        rec.used.update(("ACCOUNT", int(v)) for v in np.unique(account[account >= ACCOUNT_RECRUITER]).tolist())
        rec.used.update(("SUBMISSION_POINT", int(v)) for v in np.unique(point[at_point]).tolist())
        rec.used.update(("REFERRER", int(v)) for v in np.unique(referrer[referrer >= 0]).tolist())


def _kickback(b: WeekBuilder, ring: Ring, rng: np.random.Generator, week: int, camouflage: float, volume: float,
              last_day: int) -> None:
    clinics, doctors = ring.members["clinic"], ring.members["surgeon"]
    n = int(max(1, rng.integers(2, 6) * volume))
    bene = ring.patients[rng.integers(0, len(ring.patients), n)]
    pos = rng.integers(0, len(clinics), n)
    day = week_days(rng, week, n)
    # A -> B -> C around the loop of clinics, each step by another doctor of the ring.
    for step, (lo, hi) in enumerate([(0, 1), (3, 11), (10, 21)]):
        if step == 2:
            keep = rng.random(n) < 0.5
        else:
            keep = np.ones(n, bool)
        idx = np.flatnonzero(keep)
        if len(idx) == 0:
            continue
        where = clinics[(pos[idx] + step) % len(clinics)]
        doc = doctors[(pos[idx] + step + rng.integers(0, 2, len(idx))) % len(doctors)]
        when = np.minimum(day[idx] + rng.integers(lo, hi, len(idx)), last_day)
        contact = b.household_contact(rng, bene[idx], where, 0.9)
        dos = b.add_dossiers(bene[idx], when, tag=ring.tag, **contact)
        if step == 0:
            b.add_lines(dos, where, doc, ACTS.consult["CS"], factor=1.5)
            b.add_lines(dos, where, doc, ACTS.coef("Z", rng.choice([60, 100, 150], len(idx))), factor=1.3)
        else:
            stay = rng.integers(2, 5, len(idx))
            b.add_lines(dos, where, doc, ACTS.coef("K", rng.choice([120, 150, 180, 200, 250], len(idx))),
                        factor=1.6, prior=True)
            b.add_lines(dos, where, doc, ACTS.consult["PJ_CLINIC"], qty=stay, stay=stay, factor=1.4, prior=True)
    ring.seen_patients.update(bene.tolist())


def _phantom(b: WeekBuilder, ring: Ring, rng: np.random.Generator, week: int, camouflage: float, volume: float,
             last_day: int) -> None:
    pop = b.pop
    clinic = int(ring.members["clinic"][0])
    surgeons = ring.members["surgeon"]
    n = int(max(1, rng.poisson(3 * volume)))
    bene = ring.patients[rng.integers(0, len(ring.patients), n)]
    day = week_days(rng, week, n)
    dos = b.add_dossiers(bene, day, tag=ring.tag,
                         **_direct(b, bene, np.full(n, clinic), pop.hh_phone[pop.hh[bene]], rng))
    surgeon = surgeons[rng.integers(0, len(surgeons), n)]
    if "fabricated_consult" in ring.variants:
        cday = np.maximum(day - rng.integers(3, 21, n), 0)
        cdos = b.add_dossiers(bene, cday, tag=ring.tag, **b.household_contact(rng, bene, surgeon, 0.0))
        b.add_lines(cdos, surgeon, surgeon, ACTS.consult["CS"], factor=1.4)
    stay = rng.integers(2, 7, n)
    b.add_lines(dos, np.full(n, clinic), surgeon, ACTS.coef("K", rng.choice([80, 100, 120, 150, 200], n)),
                factor=1.5, prior=True)
    b.add_lines(dos, np.full(n, clinic), surgeon, ACTS.consult["PJ_CLINIC"], qty=stay, stay=stay, factor=1.3,
                prior=True)
    b.add_lines(dos, np.full(n, clinic), surgeon, ACTS.coef("B", rng.choice([120, 200, 300], n)))
    ring.seen_patients.update(bene.tolist())


def _pharmacy(b: WeekBuilder, ring: Ring, rng: np.random.Generator, week: int, camouflage: float, volume: float,
              last_day: int) -> None:
    pharmacy = int(ring.members["pharmacy"][0])
    prescribers = ring.members["prescriber"]
    bene = ring.patients[(ring.patients + week) % 4 == 0]
    bene = bene[rng.random(len(bene)) < 0.9]
    n = len(bene)
    if n == 0:
        return
    contact = b.household_contact(rng, bene, np.full(n, pharmacy), 0.4)
    dos = b.add_dossiers(bene, week_days(rng, week, n), tag=ring.tag, **contact)
    doc = prescribers[bene % len(prescribers)]
    seen = np.flatnonzero(rng.random(n) < 0.5)
    b.add_lines(dos[seen], doc[seen], doc[seen], ACTS.consult["C"], factor=1.3)
    rows = np.repeat(np.arange(n), rng.integers(1, 4, n))
    drugs = np.where(rng.random(len(rows)) < 0.35, rng.choice(ACTS.injectables, len(rows)),
                     rng.choice(ACTS.ald_drugs, len(rows)))
    b.add_lines(dos[rows], np.full(len(rows), pharmacy), doc[rows], drugs, qty=rng.integers(1, 3, len(rows)))
    ring.seen_patients.update(bene.tolist())


def _mill(b: WeekBuilder, ring: Ring, rng: np.random.Generator, week: int, camouflage: float, volume: float,
          last_day: int) -> None:
    prescribers = ring.members["prescriber"]
    n = int(max(2, rng.integers(5, 13) * volume))
    bene = ring.patients[rng.integers(0, len(ring.patients), n)]
    doc = prescribers[rng.integers(0, len(prescribers), n)]
    contact = b.household_contact(rng, bene, doc, 0.0)
    dos = b.add_dossiers(bene, week_days(rng, week, n), tag=ring.tag, **contact)
    b.add_lines(dos, doc, doc, ACTS.consult["C"], factor=1.3)
    if "lab" in ring.members:
        lab = int(ring.members["lab"][0])
        rows = np.repeat(np.arange(n), rng.integers(5, 11, n))
        b.add_lines(dos[rows], np.full(len(rows), lab), doc[rows],
                    ACTS.coef("B", rng.choice([200, 300, 400, 600, 800], len(rows))),
                    qty=rng.integers(1, 4, len(rows)), offset=rng.integers(0, 3, len(rows)))
    else:
        center = int(ring.members["imaging"][0])
        rows = np.repeat(np.arange(n), rng.integers(2, 5, n))
        b.add_lines(dos[rows], np.full(len(rows), center), doc[rows],
                    ACTS.coef("Z", rng.choice([100, 150, 200, 300], len(rows))),
                    qty=rng.integers(1, 3, len(rows)), offset=rng.integers(0, 4, len(rows)), factor=1.2)


_HANDLERS = {"recruiter_funnel": _funnel, "kickback_loop": _kickback, "phantom_patients": _phantom,
             "pharmacy_ring": _pharmacy, "lab_mill": _mill}
