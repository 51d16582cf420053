"""The generator's entry points: build the world once, then draw and emit week by week.

``scale`` sets the volume (scale 1 is ~200,000 claim lines in total), ``weeks``
spreads it. The population, the providers and the number of rings are sized by the
*intensity* ``scale * 12 / weeks`` (1 for the default scale 1 over 12 weeks), so
each person makes ~0.15 lines a week whatever the window: a national week
(``scale=2.1, weeks=1``) and a national year (``scale=125, weeks=52``) describe
the same country of ~3 million active beneficiaries and ~40,000 providers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.synthetic.legit import LINES_PER_PERSON_WEEK, Care, ordinary_week, season_factor
from ingest.synthetic.lines import WeekBuilder
from ingest.synthetic.lookalike_care import lookalike_week
from ingest.synthetic.lookalikes import bind_regular, lookalikes_frame, plant_lookalikes
from ingest.synthetic.noise import draw_noise
from ingest.synthetic.population import PEOPLE_PER_UNIT, build_population
from ingest.synthetic.providers import Picker, build_providers, providers_frame
from ingest.synthetic.rings import Ring, labels_frame, plant_rings, recruiter_frames
from ingest.synthetic.scenarios import fraud_week
from ingest.synthetic.world import WorldParams, draw_params
from ingest.synthetic.writer import ClaimsCsvWriter, to_contract_dtypes, write_small_csv
from ground.errors import InputRefused

__all__ = ["SyntheticData", "generate", "generate_frames", "FILES", "GROUND_TRUTH_FILES"]

FILES = ("claims.csv.gz", "providers.csv", "labels.csv")
# Extra ground truth for benchmarks (which recruiter brought whom, the legitimate
# look-alikes, the world's drawn parameters); never read by detectors.
GROUND_TRUTH_FILES = ("recruiters.csv", "recruiter_identifiers.csv", "lookalikes.csv", "world.json")
_STREAM_POP, _STREAM_PROV, _STREAM_RINGS, _STREAM_PARAMS, _STREAM_LOOKALIKES, _STREAM_NOISE = 1, 2, 3, 4, 5, 6
_STREAM_WEEK = 10
# Look-alike kinds labelled claim by claim.
_CLAIM_KINDS = ("mixed_dossier", "emergency_surgery")


@dataclass(frozen=True)
class SyntheticData:
    """Generated data in memory: claims (contract dtypes), providers and labels tables, the
    per-recruiter ground truth (``recruiters``: ``recruiter_id, ring_id, beneficiary_id,
    household_id``; ``recruiter_identifiers``: ``recruiter_id, identifier_type, identifier``),
    the legitimate look-alikes (``kind, entity_type, entity_id, group_id, role``), the
    world's drawn parameters and what ``world.json`` records (parameters and each ring's
    camouflage and variants)."""

    claims: pd.DataFrame
    providers: pd.DataFrame
    labels: pd.DataFrame
    recruiters: pd.DataFrame | None = None
    recruiter_identifiers: pd.DataFrame | None = None
    lookalikes: pd.DataFrame | None = None
    params: WorldParams | None = None
    world: dict | None = None


def generate(out_dir: str | Path, *, scale: float = 1.0, weeks: int = 12, seed: int = 0, camouflage: float = 0.0,
             start: str | dt.date = "2025-01-06", fraud: bool = True,
             progress: Callable[[int, int, int], None] | None = None) -> dict[str, Path]:
    """Write ``claims.csv.gz``, ``providers.csv``, ``labels.csv`` and the benchmark-only
    ``recruiters.csv``, ``recruiter_identifiers.csv``, ``lookalikes.csv`` and ``world.json``
    into ``out_dir``.

    Claims are generated and written one week at a time, so memory stays bounded by
    the population and one week of lines. The same arguments give byte-identical files.

    Parameters
    ----------
    out_dir : folder to write into (created if missing)
    scale : volume; 1 is ~200,000 claim lines in total
    weeks : number of weeks of service dates, from ``start``
    seed : random seed
    camouflage : 0..1, how much fraudsters blend in (more ordinary patients, spread
        cohorts, rotating recruiter phones and accounts)
    start : first service date (ISO string or date)
    fraud : False plants no fraud at all (labels.csv holds only its header)
    progress : called after each week with (week index, weeks, rows written so far)

    Returns
    -------
    dict mapping "claims", "providers", "labels", "recruiters", "recruiter_identifiers",
    "lookalikes", "world" to the written paths
    """
    world = _World(scale, weeks, seed, camouflage, start, fraud)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Written into a staging folder and moved into place only when every file is whole, so a
    # crash or an interrupt never leaves a truncated claims file that looks like a data set.
    staging = Path(tempfile.mkdtemp(prefix=".generate-", dir=out))
    try:
        staged = {name.split(".")[0]: staging / name for name in FILES + GROUND_TRUTH_FILES}
        with ClaimsCsvWriter(staged["claims"]) as writer:
            for week, columns in world.weeks():
                writer.write(columns)
                if progress is not None:
                    progress(week, weeks, writer.rows)
        write_small_csv(world.providers(), staged["providers"])
        write_small_csv(world.labels(), staged["labels"])
        recruiters, identifiers = world.recruiters()
        write_small_csv(recruiters, staged["recruiters"])
        write_small_csv(identifiers, staged["recruiter_identifiers"])
        write_small_csv(world.lookalikes(), staged["lookalikes"])
        staged["world"].write_text(json.dumps(world.describe(), indent=2, sort_keys=True) + "\n")
        paths = {key: out / path.name for key, path in staged.items()}
        # The claims file last: where it exists, the files describing it exist too.
        for key in sorted(staged, key=lambda k: k == "claims"):
            os.replace(staged[key], paths[key])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return paths


def generate_frames(*, scale: float = 1.0, weeks: int = 12, seed: int = 0, camouflage: float = 0.0,
                    start: str | dt.date = "2025-01-06", fraud: bool = True) -> SyntheticData:
    """The same data as :func:`generate`, in memory (claims with contract dtypes); for small scales.

    Parameters
    ----------
    scale, weeks, seed, camouflage, start, fraud
        As for :func:`generate`.
    """
    world = _World(scale, weeks, seed, camouflage, start, fraud)
    claims = to_contract_dtypes([columns for _, columns in world.weeks()])
    recruiters, identifiers = world.recruiters()
    return SyntheticData(claims=claims, providers=world.providers(), labels=world.labels(),
                         recruiters=recruiters, recruiter_identifiers=identifiers, lookalikes=world.lookalikes(),
                         params=world.params, world=world.describe())


def _check(scale: float, weeks: int, seed: int, camouflage: float, start: str | dt.date) -> np.datetime64:
    if not scale > 0:
        raise InputRefused(f"generate: scale must be > 0, got {scale!r}")
    if int(weeks) != weeks or weeks < 1:
        raise InputRefused(f"generate: weeks must be a whole number >= 1, got {weeks!r}")
    if not 0.0 <= camouflage <= 1.0:
        raise InputRefused(f"generate: camouflage must be between 0 and 1, got {camouflage!r}")
    if int(seed) != seed or seed < 0:
        raise InputRefused(f"generate: seed must be a whole number >= 0, got {seed!r}")
    try:
        return np.datetime64(dt.date.fromisoformat(str(start)), "D")
    except ValueError as exc:
        raise InputRefused(f"generate: start must be a date YYYY-MM-DD, got {start!r}") from exc


class _World:
    """Population, providers and rings of one generation, and its week-by-week draw."""

    def __init__(self, scale: float, weeks: int, seed: int, camouflage: float, start: str | dt.date,
                 fraud: bool) -> None:
        self.start = _check(scale, weeks, seed, camouflage, start)
        self.n_weeks = int(weeks)
        self.seed = int(seed)
        self.camouflage = float(camouflage)
        self.fraud = bool(fraud)
        self.params = p = draw_params(self._rng(_STREAM_PARAMS), self.camouflage)
        intensity = scale * 12.0 / weeks
        self.n_people = max(1500, int(round(intensity * PEOPLE_PER_UNIT)))
        # Lines per person-week that give scale * 200,000 lines over the window.
        self.rate_factor = scale * 200_000 / weeks / self.n_people / LINES_PER_PERSON_WEEK
        self.volume = float(np.clip(intensity, 0.25, 1.0))
        year = int(str(self.start)[:4])
        self.pop = build_population(self._rng(_STREAM_POP), self.n_people, year, tadamon_share=p.tadamon_share,
                                    tadamon_cash_share=p.tadamon_cash_share, phone_share=p.phone_share)
        self.prov = build_providers(self._rng(_STREAM_PROV), intensity)
        self.rings: list[Ring] = (plant_rings(self._rng(_STREAM_RINGS), self.pop, self.prov, intensity, p,
                                              self.volume) if self.fraud else [])
        in_rings = {int(i) for ring in self.rings for ids in ring.members.values() for i in ids}
        self.la = plant_lookalikes(self._rng(_STREAM_LOOKALIKES), p, self.pop, self.prov, intensity, self.volume,
                                   self.n_weeks, year, in_rings)
        prov = self.prov
        clinics = np.array([c for c in prov.of("CLINIC") if (prov.role[prov.attached(c)] == "surgeon").any()])
        # Each kind keeps its own pull to home, shifted by the world's stay-home share.
        home = p.stay_home - 0.9

        def picker(candidates: np.ndarray, stay: float) -> Picker:
            return Picker(prov, candidates, float(np.clip(stay + home, 0.5, 0.99)))

        pickers = {
            "GP": picker(prov.of("DOCTOR", role="gp"), 0.9),
            "SPECIALIST": picker(prov.of("DOCTOR", role="specialist"), 0.85),
            "PHARMACY": picker(prov.of("PHARMACY"), 0.95),
            "LAB": picker(prov.of("LAB"), 0.9),
            "IMAGING": picker(prov.of("IMAGING"), 0.88),
            "DENTIST": picker(prov.of("DENTIST"), 0.95),
            "CLINIC": picker(clinics, 0.85),
            "HOSPITAL": picker(prov.of("HOSPITAL"), 0.9),
        }
        rng = self._rng(_STREAM_POP, 1)
        hh_region = self.pop.hh_region
        self.pop.assign_regular(Picker(prov, prov.of("DOCTOR", role="gp"), 0.99).pick(rng, hh_region),
                                Picker(prov, prov.of("PHARMACY"), 0.99).pick(rng, hh_region))
        bind_regular(self.la, self.pop, self._rng(_STREAM_LOOKALIKES, 1), p.gp_pharmacy_loyalty)
        self.la.noise = draw_noise(self._rng(_STREAM_NOISE), p, prov, self.pop.n_points)
        upcoders = {int(r.members["clinic"][0]): (r.tag, "coefficient" in r.variants)
                    for r in self.rings if r.scenario == "upcoder"}
        self.care = Care(prov=prov, pickers=pickers, upcoders=upcoders, volume=self.rate_factor)
        self.claim_labels: list[tuple[np.ndarray, np.ndarray]] = []

    def _rng(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *stream])

    def weeks(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Yield (week index, claim columns of that week); records the fraud claim labels."""
        claim_counter, pa_counter = 1, 1
        last_day = self.n_weeks * 7 - 1
        self.claim_labels = []
        claim_groups = [self.la.index(kind) for kind in _CLAIM_KINDS]
        self.la.claims = {g: [] for g in claim_groups}
        for week in range(self.n_weeks):
            rng = self._rng(_STREAM_WEEK, week)
            b = WeekBuilder(self.pop, self.prov, self.start, last_day, noise=self.la.noise,
                            mixed_group=self.la.index("mixed_dossier"))
            mid = self.start + np.timedelta64(week * 7 + 3, "D")
            doy = int((mid - mid.astype("datetime64[Y]")).astype(int))
            ordinary_week(b, self.care, rng, week, self.n_people, float(season_factor(doy)))
            lookalike_week(b, self.la, self.care, rng, week, self.n_people, last_day)
            fraud_week(b, self.rings, rng, week, self.volume, last_day)
            out = b.finish(rng, claim_counter, pa_counter)
            claim_counter, pa_counter = out.claim_counter, out.pa_counter
            fraud = out.tags >= 0
            order = np.argsort(out.claim_ids[fraud], kind="stable")
            self.claim_labels.append((out.claim_ids[fraud][order], out.tags[fraud][order]))
            for g in claim_groups:
                self.la.claims[g].append(out.claim_ids[out.lookalikes == g])
            yield week, out.columns

    def providers(self) -> pd.DataFrame:
        """The providers table."""
        return providers_frame(self.prov)

    def labels(self) -> pd.DataFrame:
        """The labels table (complete once :meth:`weeks` has been consumed)."""
        return labels_frame(self.rings, self.claim_labels)

    def lookalikes(self) -> pd.DataFrame:
        """The look-alikes table (complete once :meth:`weeks` has been consumed)."""
        return lookalikes_frame(self.la, self.pop, self.pop.n_agencies)

    def describe(self) -> dict:
        """What ``world.json`` records: the arguments and the drawn parameters."""
        return {"seed": self.seed, "weeks": self.n_weeks, "people": self.n_people, "fraud": self.fraud,
                "start": str(self.start), **self.params.as_dict(), "rings": [r.describe() for r in self.rings]}

    def recruiters(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Who each recruiter brought and what he wrote (complete once :meth:`weeks` has been consumed)."""
        return recruiter_frames(self.rings, self.pop)
