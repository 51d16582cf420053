"""Ordinary care of one week: consultations with prescriptions, lab and imaging,
dental care, planned surgery after a consultation, hospital stays and the monthly
pharmacy refills of chronic (ALD) patients.

All of it is drawn in bulk per dossier kind; nothing loops over claim lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.synthetic.catalogue import ACTS
from ingest.synthetic.lines import WeekBuilder
from ingest.synthetic.providers import Picker, ProviderTable

__all__ = ["Care", "ordinary_week", "week_days", "LINES_PER_PERSON_WEEK", "DOW_WEIGHTS", "season_factor"]

LINES_PER_PERSON_WEEK = 0.15
# Monday .. Sunday: surgeries and practices close on Sunday, pharmacies on duty remain.
DOW_WEIGHTS = np.array([0.19, 0.18, 0.18, 0.17, 0.15, 0.11, 0.02])
# Dossiers of each kind per person and week, before seasonality; with the expected lines
# per dossier below they give ~LINES_PER_PERSON_WEEK including ALD refills.
_KINDS = {"gp": 0.0185, "specialist": 0.0072, "dental": 0.0025, "lab": 0.0016, "imaging": 0.0012,
          "surgery": 0.0007, "hospital": 0.0005}


@dataclass
class Care:
    """Everything ordinary care needs: tables, pickers by provider kind, upcoding clinics.

    ``upcoders`` maps a clinic index to (its fraud tag, coefficient only): surgery there is
    billed at higher coefficients than its peers, with longer stays unless coefficient only.
    """

    prov: ProviderTable
    pickers: dict[str, Picker]
    upcoders: dict[int, tuple[int, bool]]
    volume: float


def season_factor(day_of_year: np.ndarray | float) -> np.ndarray:
    """Winter peak (respiratory season) and an August dip, around 1."""
    doy = np.asarray(day_of_year, dtype=float)
    return 1.0 + 0.15 * np.cos(2 * np.pi * (doy - 20) / 365.25) - 0.12 * np.exp(-((doy - 222) / 14) ** 2)


def week_days(rng: np.random.Generator, week: int, n: int, sunday: bool = False) -> np.ndarray:
    """``n`` service days (days since the start) in ``week``, weighted by weekday; Sundays are rare."""
    w = DOW_WEIGHTS.copy()
    if sunday:
        w[6] = 0.08
    return week * 7 + rng.choice(7, size=n, p=w / w.sum())


def ordinary_week(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int, n_people: int,
                  season: float) -> None:
    """Add one week of ordinary dossiers for a population of ``n_people`` to ``b``."""
    for kind, rate in _KINDS.items():
        n = rng.poisson(rate * n_people * season * care.volume)
        if n:
            _KIND_FUNCS[kind](b, care, rng, week, b.pop.sample(rng, n))
    _ald_refills(b, care, rng, week)


def _prescription(b: WeekBuilder, care: Care, rng: np.random.Generator, dos: np.ndarray, bene: np.ndarray,
                  prescriber: np.ndarray, p_drugs: float, p_lab: float, p_img: float) -> None:
    pop = b.pop
    hh = pop.hh[bene]
    has = rng.random(len(dos)) < p_drugs
    k = np.where(has, rng.integers(1, 4, len(dos)), 0)
    usual = pop.hh_pharmacy[hh]
    pharmacy = np.where((rng.random(len(dos)) < 0.75) & (usual >= 0), usual,
                        care.pickers["PHARMACY"].pick(rng, pop.region[bene]))
    rows = np.repeat(np.arange(len(dos)), k)
    b.add_lines(dos[rows], pharmacy[rows], prescriber[rows], rng.choice(ACTS.drugs, len(rows)),
                qty=rng.choice([1, 1, 1, 2, 3], len(rows)))
    lab_rows = np.flatnonzero(rng.random(len(dos)) < p_lab)
    if len(lab_rows):
        lab = care.pickers["LAB"].pick(rng, pop.region[bene[lab_rows]])
        k = rng.integers(1, 4, len(lab_rows))
        rows = np.repeat(np.arange(len(lab_rows)), k)
        b.add_lines(dos[lab_rows][rows], lab[rows], prescriber[lab_rows][rows],
                    ACTS.coef("B", rng.choice([20, 30, 40, 50, 60, 80, 100, 120, 150, 200], len(rows))),
                    offset=rng.integers(0, 3, len(rows)), factor=rng.uniform(1.0, 1.15, len(rows)))
    img_rows = np.flatnonzero(rng.random(len(dos)) < p_img)
    if len(img_rows):
        img = care.pickers["IMAGING"].pick(rng, pop.region[bene[img_rows]])
        b.add_lines(dos[img_rows], img, prescriber[img_rows],
                    ACTS.coef("Z", rng.choice([15, 20, 30, 40, 60, 100, 150], len(img_rows),
                                              p=[0.2, 0.2, 0.25, 0.15, 0.1, 0.06, 0.04])),
                    offset=rng.integers(0, 5, len(img_rows)), factor=rng.uniform(1.0, 1.3, len(img_rows)))


def _consult_dossiers(b: WeekBuilder, rng: np.random.Generator, week: int, bene: np.ndarray,
                      doctor: np.ndarray, act: int | np.ndarray, factor: np.ndarray) -> np.ndarray:
    contact = b.household_contact(rng, bene, doctor, 0.0)
    dos = b.add_dossiers(bene, week_days(rng, week, len(bene)), **contact)
    b.add_lines(dos, doctor, doctor, np.broadcast_to(act, (len(bene),)), factor=factor)
    return dos


def _gp(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int, bene: np.ndarray) -> None:
    usual = b.pop.hh_gp[b.pop.hh[bene]]
    doctor = np.where((rng.random(len(bene)) < 0.7) & (usual >= 0), usual,
                      care.pickers["GP"].pick(rng, b.pop.region[bene]))
    dos = _consult_dossiers(b, rng, week, bene, doctor, ACTS.consult["C"], rng.lognormal(0.3, 0.2, len(bene)))
    _prescription(b, care, rng, dos, bene, doctor, 0.72, 0.11, 0.05)


def _specialist(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int, bene: np.ndarray) -> None:
    doctor = care.pickers["SPECIALIST"].pick(rng, b.pop.region[bene])
    act = np.where(rng.random(len(bene)) < 0.8, ACTS.consult["CS"], ACTS.consult["CSC"])
    dos = _consult_dossiers(b, rng, week, bene, doctor, act, rng.lognormal(0.2, 0.15, len(bene)))
    _prescription(b, care, rng, dos, bene, doctor, 0.6, 0.3, 0.22)


def _dental(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int, bene: np.ndarray) -> None:
    dentist = care.pickers["DENTIST"].pick(rng, b.pop.region[bene])
    contact = b.household_contact(rng, bene, dentist, 0.0)
    dos = b.add_dossiers(bene, week_days(rng, week, len(bene)), **contact)
    k = rng.integers(1, 4, len(dos))
    rows = np.repeat(np.arange(len(dos)), k)
    b.add_lines(dos[rows], dentist[rows], dentist[rows],
                ACTS.coef("D", rng.choice([5, 10, 15, 20, 30, 50, 80], len(rows))),
                offset=rng.integers(0, 3, len(rows)), factor=rng.lognormal(0.3, 0.2, len(rows)))


def _lab(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int, bene: np.ndarray) -> None:
    prescriber = b.pop.hh_gp[b.pop.hh[bene]]
    lab = care.pickers["LAB"].pick(rng, b.pop.region[bene])
    contact = b.household_contact(rng, bene, lab, 0.1)
    dos = b.add_dossiers(bene, week_days(rng, week, len(bene)), **contact)
    k = rng.integers(1, 5, len(dos))
    rows = np.repeat(np.arange(len(dos)), k)
    b.add_lines(dos[rows], lab[rows], prescriber[rows],
                ACTS.coef("B", rng.choice([20, 30, 40, 60, 80, 120, 200, 300], len(rows))))


def _imaging(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int, bene: np.ndarray) -> None:
    prescriber = b.pop.hh_gp[b.pop.hh[bene]]
    img = care.pickers["IMAGING"].pick(rng, b.pop.region[bene])
    contact = b.household_contact(rng, bene, img, 0.1)
    dos = b.add_dossiers(bene, week_days(rng, week, len(bene)), **contact)
    b.add_lines(dos, img, prescriber, ACTS.coef("Z", rng.choice([15, 30, 40, 60, 100, 150, 250], len(dos),
                                                                  p=[0.25, 0.25, 0.2, 0.12, 0.1, 0.05, 0.03])),
                factor=rng.uniform(1.0, 1.3, len(dos)))


def _surgery(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int, bene: np.ndarray) -> None:
    prov, pop = care.prov, b.pop
    clinic = care.pickers["CLINIC"].pick(rng, pop.region[bene])
    surgeon = prov.pick_attached(rng, clinic)
    ok = surgeon >= 0
    bene, clinic, surgeon = bene[ok], clinic[ok], surgeon[ok]
    n = len(bene)
    day = week_days(rng, week, n)
    # The surgeon saw the patient in consultation one to four weeks before (or at the data's start).
    consult_day = np.maximum(day - rng.integers(7, 29, n), 0)
    contact = b.household_contact(rng, bene, surgeon, 0.0)
    cdos = b.add_dossiers(bene, consult_day, **contact)
    b.add_lines(cdos, surgeon, surgeon, ACTS.consult["CS"], factor=rng.lognormal(0.4, 0.2, n))

    coef = rng.choice([20, 30, 40, 50, 60, 80, 100, 120, 150, 180], n,
                      p=[0.08, 0.12, 0.15, 0.17, 0.14, 0.12, 0.1, 0.06, 0.04, 0.02])
    stay = rng.choice([0, 1, 1, 2, 2, 3, 4, 5], n)
    tag = np.full(n, -1)
    for c_idx, (t, coefficient_only) in care.upcoders.items():
        hit = (clinic == c_idx) & (rng.random(n) < 0.6)
        inflate = rng.uniform(1.25, 1.6, n) if coefficient_only else rng.uniform(1.5, 2.2, n)
        coef = np.where(hit, (coef * inflate).astype(int), coef)
        longer = hit & (not coefficient_only)
        stay = np.where(longer, stay + rng.integers(2, 5, n), stay)
        tag = np.where(hit, t, tag)
    contact = b.household_contact(rng, bene, clinic, 0.85)
    dos = b.add_dossiers(bene, day, tag=tag, **contact)
    b.add_lines(dos, clinic, surgeon, ACTS.coef("K", coef), factor=rng.uniform(1.2, 1.8, n), prior=True)
    anaes = prov.pick_attached(rng, clinic)
    with_anaes = coef >= 40
    b.add_lines(dos[with_anaes], clinic[with_anaes], anaes[with_anaes],
                ACTS.coef("K", (coef[with_anaes] * 0.3).astype(int) + 5), factor=1.3)
    st = stay > 0
    b.add_lines(dos[st], clinic[st], surgeon[st], ACTS.consult["PJ_CLINIC"], qty=stay[st], stay=stay[st],
                factor=rng.uniform(1.0, 1.5, int(st.sum())), prior=True)
    b.add_lines(dos, clinic, surgeon, ACTS.coef("B", rng.choice([80, 120, 160, 200], n)))
    rows = np.repeat(np.arange(n), rng.integers(1, 4, n))
    b.add_lines(dos[rows], clinic[rows], surgeon[rows], rng.choice(ACTS.drugs, len(rows)),
                qty=rng.integers(1, 4, len(rows)))


def _hospital(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int, bene: np.ndarray) -> None:
    pop = b.pop
    hosp = care.pickers["HOSPITAL"].pick(rng, pop.region[bene])
    doctor = care.prov.pick_attached(rng, hosp)
    n = len(bene)
    stay = rng.choice([1, 1, 2, 2, 3, 4, 5, 7, 10], n)
    contact = b.household_contact(rng, bene, hosp, 0.9)
    dos = b.add_dossiers(bene, week_days(rng, week, n, sunday=True), **contact)
    icu = rng.random(n) < 0.05
    b.add_lines(dos, hosp, doctor, np.where(icu, ACTS.consult["PJ_ICU"], ACTS.consult["PJ_HOSPITAL"]),
                qty=stay, stay=stay, prior=rng.random(n) < 0.6)
    rows = np.repeat(np.arange(n), rng.integers(1, 4, n))
    b.add_lines(dos[rows], hosp[rows], doctor[rows], ACTS.coef("B", rng.choice([40, 80, 120, 200], len(rows))))
    img = np.flatnonzero(rng.random(n) < 0.4)
    b.add_lines(dos[img], hosp[img], doctor[img], ACTS.coef("Z", rng.choice([15, 30, 60, 150], len(img))))


def _ald_refills(b: WeekBuilder, care: Care, rng: np.random.Generator, week: int) -> None:
    """Chronic patients refill at their pharmacy every four weeks; every twelve weeks they also
    see their doctor and have a check-up."""
    pop = b.pop
    persons = np.flatnonzero(pop.ald[:pop.n_sampled])
    due = persons[(persons + week) % 4 == 0]
    keep = rng.random(len(due)) < min(1.0, care.volume)
    due = due[keep]
    n = len(due)
    if n == 0:
        return
    hh = pop.hh[due]
    pharmacy = pop.hh_pharmacy[hh]
    prescriber = pop.hh_gp[hh]
    contact = b.household_contact(rng, due, pharmacy, 0.3)
    dos = b.add_dossiers(due, week_days(rng, week, n, sunday=True), **contact)
    k = 1 + (due % 3)
    rows = np.repeat(np.arange(n), k)
    # The same patient gets the same treatment each month.
    drug = ACTS.ald_drugs[(due[rows] * 7 + np.arange(len(rows)) - np.repeat(np.cumsum(k) - k, k)) % len(ACTS.ald_drugs)]
    b.add_lines(dos[rows], pharmacy[rows], prescriber[rows], drug, qty=1 + (due[rows] % 2))
    check = due[(due + week) % 12 == 0]
    if len(check):
        doctor = pop.hh_gp[pop.hh[check]]
        cdos = _consult_dossiers(b, rng, week, check, doctor, ACTS.consult["C"], rng.lognormal(0.3, 0.2, len(check)))
        lab = care.pickers["LAB"].pick(rng, pop.region[check])
        b.add_lines(cdos, lab, doctor, ACTS.coef("B", np.full(len(check), 120)), offset=1)
        b.add_lines(cdos, lab, doctor, ACTS.coef("B", np.full(len(check), 40)), offset=1)


_KIND_FUNCS = {"gp": _gp, "specialist": _specialist, "dental": _dental, "lab": _lab, "imaging": _imaging,
               "surgery": _surgery, "hospital": _hospital}
