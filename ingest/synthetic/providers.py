"""Providers and doctors: who they are, where they practise, which clinics the
surgeons work at, and how patients choose them (mostly near home).

Doctors are providers of type DOCTOR (their own practice bills consultations);
surgeons and anaesthetists are also attached to one to three facilities, where
they appear as ``doctor_id`` on the facility's lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.synthetic.catalogue import (
    ANAESTHETIST, CITIES, GP_SPECIALTY, PROVIDER_TYPES, PROVIDERS_PER_UNIT, REGION_CODES, REGION_WEIGHTS,
    SPECIALISTS, SURGEONS,
)
from ingest.synthetic.ids import provider_ids

__all__ = ["ProviderTable", "Picker", "build_providers", "providers_frame", "TYPE"]

TYPE = {name: i for i, name in enumerate(PROVIDER_TYPES)}
# Big-city regions hold more than their share of clinics and imaging centres.
_ATTRACTION = np.array([1.0, 0.8, 1.0, 1.5, 0.7, 1.8, 1.2, 0.5, 0.9, 0.6, 0.6, 0.5])
_NAME_PREFIX = {
    "CLINIC": "Clinique", "HOSPITAL": "Hopital", "DOCTOR": "Dr", "LAB": "Laboratoire",
    "IMAGING": "Centre d'imagerie", "PHARMACY": "Pharmacie", "DENTIST": "Cabinet dentaire",
}


@dataclass
class ProviderTable:
    """Providers as parallel arrays indexed by provider index.

    ``ptype`` index into PROVIDER_TYPES, ``region`` 0..11, ``city`` name, ``lat``/``lon``,
    ``popularity`` (relative patient draw), ``specialty`` (doctors only, else None),
    ``role`` one of "gp", "specialist", "surgeon", "anaesthetist", "" for non-doctors.
    ``fac_ptr``/``fac_doctors``: CSR lists of doctors attached to each provider (only
    clinics and hospitals have any).
    """

    ptype: np.ndarray
    region: np.ndarray
    city: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    popularity: np.ndarray
    specialty: np.ndarray
    role: np.ndarray
    fac_ptr: np.ndarray
    fac_doctors: np.ndarray

    @property
    def n(self) -> int:
        """Number of providers and doctors."""
        return len(self.ptype)

    def of(self, ptype: str, region: int | None = None, role: str | None = None) -> np.ndarray:
        """Indices of providers of a type (optionally in a region, with a doctor role)."""
        mask = self.ptype == TYPE[ptype]
        if region is not None:
            mask &= self.region == region
        if role is not None:
            mask &= self.role == role
        return np.flatnonzero(mask)

    def attached(self, facility: int) -> np.ndarray:
        """Doctors attached to a clinic or hospital."""
        return self.fac_doctors[self.fac_ptr[facility]:self.fac_ptr[facility + 1]]

    def append(self, ptype: str, near: int, count: int = 1, *, specialty: str | None = None, role: str = "",
               popularity: float = 1.0, attach_to: int | None = None) -> np.ndarray:
        """Add ``count`` providers of ``ptype`` in the city of provider ``near`` (a few hundred
        metres away), optionally attached to facility ``attach_to``; returns their indices."""
        new = np.arange(self.n, self.n + count)
        self.ptype = np.concatenate([self.ptype, np.full(count, TYPE[ptype], np.int8)])
        self.region = np.concatenate([self.region, np.full(count, self.region[near], np.int8)])
        self.city = np.concatenate([self.city, np.full(count, self.city[near], dtype=object)])
        offsets = (np.arange(1, count + 1) * 0.003).round(5)
        self.lat = np.concatenate([self.lat, np.round(self.lat[near] + offsets, 5)])
        self.lon = np.concatenate([self.lon, np.round(self.lon[near] - offsets, 5)])
        self.popularity = np.concatenate([self.popularity, np.full(count, popularity)])
        self.specialty = np.concatenate([self.specialty, np.full(count, specialty, dtype=object)])
        self.role = np.concatenate([self.role, np.full(count, role, dtype=object)])
        self.fac_ptr = np.concatenate([self.fac_ptr, np.full(count, self.fac_ptr[-1])])
        if attach_to is not None:
            self.attach(new, attach_to)
        return new

    def attach(self, doctors: np.ndarray, facility: int) -> None:
        """Attach doctors to a clinic or hospital (they appear as ``doctor_id`` on its lines)."""
        counts = np.diff(self.fac_ptr)
        fac = np.repeat(np.arange(len(counts)), counts)
        fac = np.concatenate([fac, np.full(len(doctors), facility)])
        doc = np.concatenate([self.fac_doctors, np.asarray(doctors, np.int64)])
        pairs = np.unique(np.stack([fac, doc], axis=1), axis=0)
        self.fac_ptr = np.concatenate([[0], np.cumsum(np.bincount(pairs[:, 0], minlength=self.n))])
        self.fac_doctors = pairs[:, 1]

    def pick_attached(self, rng: np.random.Generator, facilities: np.ndarray) -> np.ndarray:
        """One attached doctor per facility line (-1 where a facility has none)."""
        start = self.fac_ptr[facilities]
        count = self.fac_ptr[facilities + 1] - start
        choice = start + (rng.random(len(facilities)) * np.maximum(count, 1)).astype(np.int64)
        safe = np.minimum(choice, max(len(self.fac_doctors) - 1, 0))
        return np.where(count > 0, self.fac_doctors[safe] if len(self.fac_doctors) else -1, -1)


class Picker:
    """Draws providers of one kind for patients: from their own region with probability
    ``stay_home``, otherwise anywhere (big cities attract), weighted by popularity."""

    def __init__(self, table: ProviderTable, candidates: np.ndarray, stay_home: float = 0.9) -> None:
        self.stay_home = stay_home
        order = candidates[np.lexsort((candidates, table.region[candidates]))]
        self.items = order
        self.cdf = np.cumsum(table.popularity[order])
        regions = table.region[order]
        bounds = np.searchsorted(regions, np.arange(13))
        lo_cdf = np.concatenate([[0.0], self.cdf])
        self.lo = lo_cdf[bounds[:-1]]
        self.hi = lo_cdf[bounds[1:]]
        # Regions without any such provider send their patients to the national pool.
        empty = self.hi <= self.lo
        self.lo[empty] = 0.0
        self.hi[empty] = self.cdf[-1]

    def pick(self, rng: np.random.Generator, regions: np.ndarray) -> np.ndarray:
        """One provider index per patient region (0..11)."""
        n = len(regions)
        away = rng.random(n) >= self.stay_home
        lo = np.where(away, 0.0, self.lo[regions])
        hi = np.where(away, self.cdf[-1], self.hi[regions])
        pos = np.searchsorted(self.cdf, lo + rng.random(n) * (hi - lo), side="right")
        return self.items[np.minimum(pos, len(self.items) - 1)]


def build_providers(rng: np.random.Generator, intensity: float) -> ProviderTable:
    """Create the providers for a population of the given intensity (1 = scale 1 over 12 weeks).

    Every region gets at least one provider of each type; surgeons (2-4 per clinic,
    1-2 per hospital) and anaesthetists (1 per clinic) are attached to 1-3 facilities
    of their region.
    """
    region_p = REGION_WEIGHTS * _ATTRACTION
    region_p /= region_p.sum()
    ptype, region, role, specialty = [], [], [], []
    for name, per_unit in PROVIDERS_PER_UNIT.items():
        n = int(round(per_unit * intensity))
        weights = region_p if name in ("CLINIC", "IMAGING") else REGION_WEIGHTS
        regs = np.concatenate([np.arange(12), rng.choice(12, size=max(n - 12, 0), p=weights)])
        ptype.append(np.full(len(regs), TYPE[name]))
        region.append(regs)
        if name == "DOCTOR":
            gp = rng.random(len(regs)) < 0.55
            gp[:12] = True
            names, p = zip(*SPECIALISTS)
            spec = rng.choice(np.array(names, dtype=object), size=len(regs), p=np.array(p) / sum(p))
            specialty.append(np.where(gp, GP_SPECIALTY, spec))
            role.append(np.where(gp, "gp", "specialist"))
        else:
            specialty.append(np.full(len(regs), None, dtype=object))
            role.append(np.full(len(regs), "", dtype=object))
    ptype = np.concatenate(ptype)
    region = np.concatenate(region)
    specialty = np.concatenate(specialty).astype(object)
    role = np.concatenate(role).astype(object)

    facilities = np.flatnonzero((ptype == TYPE["CLINIC"]) | (ptype == TYPE["HOSPITAL"]))
    is_clinic = ptype[facilities] == TYPE["CLINIC"]
    n_surg = np.where(is_clinic, rng.integers(2, 5, len(facilities)), rng.integers(1, 3, len(facilities)))
    n_anaes = np.where(is_clinic, 1, 0)
    home_fac = np.concatenate([np.repeat(facilities, n_surg), np.repeat(facilities, n_anaes)])
    surg_names, surg_p = zip(*SURGEONS)
    k_s, k_a = int(n_surg.sum()), int(n_anaes.sum())
    doc_spec = np.concatenate([
        rng.choice(np.array(surg_names, dtype=object), size=k_s, p=np.array(surg_p) / sum(surg_p)),
        np.full(k_a, ANAESTHETIST, dtype=object),
    ])
    first_doc = len(ptype)
    docs = np.arange(first_doc, first_doc + k_s + k_a)
    ptype = np.concatenate([ptype, np.full(len(docs), TYPE["DOCTOR"])])
    region = np.concatenate([region, region[home_fac]])
    specialty = np.concatenate([specialty, doc_spec])
    role = np.concatenate([role, np.array(["surgeon"] * k_s + ["anaesthetist"] * k_a, dtype=object)])

    # Attachments: the home facility plus 0-2 other clinics of the same region.
    pairs_fac = [home_fac]
    pairs_doc = [docs]
    extra = rng.choice(3, size=len(docs), p=[0.5, 0.35, 0.15])
    for k in (1, 2):
        who = np.flatnonzero(extra >= k)
        for d in who:
            local = facilities[(region[facilities] == region[docs[d]]) & is_clinic]
            if len(local):
                pairs_fac.append(np.array([local[rng.integers(len(local))]]))
                pairs_doc.append(np.array([docs[d]]))
    fac = np.concatenate(pairs_fac)
    doc = np.concatenate(pairs_doc)
    pairs = np.unique(np.stack([fac, doc], axis=1), axis=0)
    counts = np.bincount(pairs[:, 0], minlength=len(ptype))
    fac_ptr = np.concatenate([[0], np.cumsum(counts)])

    city_names, lat, lon = _place(rng, region)
    sigma = np.where(ptype == TYPE["CLINIC"], 1.0, 0.7)
    popularity = rng.lognormal(0.0, sigma)
    return ProviderTable(
        ptype=ptype.astype(np.int8), region=region.astype(np.int8), city=city_names, lat=lat, lon=lon,
        popularity=popularity, specialty=specialty, role=role, fac_ptr=fac_ptr, fac_doctors=pairs[:, 1],
    )


def _place(rng: np.random.Generator, region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    city = np.empty(len(region), dtype=object)
    lat = np.empty(len(region))
    lon = np.empty(len(region))
    for r, code in enumerate(REGION_CODES):
        rows = np.flatnonzero(region == r)
        cities = CITIES[code]
        w = np.array([c[3] for c in cities])
        pick = rng.choice(len(cities), size=len(rows), p=w / w.sum())
        city[rows] = np.array([c[0] for c in cities], dtype=object)[pick]
        lat[rows] = np.array([c[1] for c in cities])[pick] + rng.normal(0, 0.02, len(rows))
        lon[rows] = np.array([c[2] for c in cities])[pick] + rng.normal(0, 0.02, len(rows))
    return city, np.round(lat, 5), np.round(lon, 5)


def providers_frame(table: ProviderTable) -> pd.DataFrame:
    """The providers file (contract provider columns), one row per provider or doctor id, in id order."""
    idx = np.arange(table.n)
    ids = provider_ids(idx)
    type_names = np.array(PROVIDER_TYPES, dtype=object)[table.ptype]
    prefix = np.array([_NAME_PREFIX[t] for t in PROVIDER_TYPES], dtype=object)[table.ptype]
    names = prefix + " " + ids.astype(str).astype(object)
    frame = pd.DataFrame({
        "provider_id": ids, "name": names, "provider_type": type_names,
        "region": np.array(REGION_CODES, dtype=object)[table.region], "city": table.city,
        "latitude": table.lat, "longitude": table.lon,
    })
    return frame.sort_values("provider_id", kind="stable").reset_index(drop=True)

