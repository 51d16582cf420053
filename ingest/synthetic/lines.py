"""Assembling one week of dossiers and act lines into contract columns.

Scenarios (legitimate care and fraud alike) add dossiers (who, when, how filed)
and lines (who billed what) as integer arrays to a :class:`WeekBuilder`; it turns
them into contract columns once per week: ids, amounts, dates, line numbers,
prior authorisation numbers. Claim ids are numbered in service-date order with a
random tie-break, so a fraudulent dossier's id says nothing about how it was made.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ingest.synthetic.catalogue import ACTS, FAMILIES, PROVIDER_TYPES, REGIMES, REGION_CODES
from ingest.synthetic.ids import (
    ACCOUNT_PROVIDER, PHONE_PERSONAL, account_ids, beneficiary_ids, phone_ids, point_ids, provider_ids,
    referrer_ids,
)
from ingest.synthetic.noise import Noise, apply_noise
from ingest.synthetic.population import TADAMON, Population
from ingest.synthetic.providers import ProviderTable

__all__ = ["Week", "WeekBuilder", "AGENCY", "PROXIMITY_POINT", "ONLINE", "PROVIDER_DIRECT", "CHANNELS"]

CHANNELS = ("AGENCY", "PROXIMITY_POINT", "ONLINE", "PROVIDER_DIRECT")
AGENCY, PROXIMITY_POINT, ONLINE, PROVIDER_DIRECT = range(4)
_FAM = {name: i for i, name in enumerate(FAMILIES)}
# Share of the tariff the insurer pays, by act family (ALD patients get 90% at least).
_RATE = np.array([0.7, 0.9, 0.8, 0.8, 0.7, 0.9, 0.7, 0.7])
_DOSSIER_FIELDS = ("bene", "day", "channel", "point", "phone", "account", "referrer", "lag", "tag", "lk")
_LINE_FIELDS = ("dossier", "provider", "doctor", "act", "qty", "stay", "offset", "factor", "prior")


class Week(NamedTuple):
    """One week of contract rows.

    ``columns``: contract column -> numpy array (strings as objects with None, -1 for no
    stay, ``ald`` 1/0/-1 for unknown once noise applies); ``claim_ids`` one id per dossier
    in builder order; ``tags`` the dossiers' fraud tags and ``lookalikes`` their
    look-alike group indices (-1 for none); the claim and prior-authorisation counters
    after this week.
    """

    columns: dict
    claim_ids: np.ndarray
    tags: np.ndarray
    lookalikes: np.ndarray
    claim_counter: int
    pa_counter: int


class WeekBuilder:
    """Collects the dossiers and lines of one week and writes them as contract rows.

    Parameters
    ----------
    pop, providers : the population and provider tables
    start : first day of the data (day 0)
    last_day : last day of the data; later service days (a lab line a few days after the
        visit, at the end of the window) are brought back to it
    noise : how each provider and point writes its dossiers (None: everything canonical)
    mixed_group : look-alike index given to ordinary dossiers with lines of three or more
        providers (-1: not recorded)
    """

    def __init__(self, pop: Population, providers: ProviderTable, start: np.datetime64, last_day: int,
                 noise: Noise | None = None, mixed_group: int = -1) -> None:
        self.pop = pop
        self.noise = noise
        self.mixed_group = mixed_group
        self.prov = providers
        self.start = start
        self.last_day = last_day
        self._d: dict[str, list[np.ndarray]] = {f: [] for f in _DOSSIER_FIELDS}
        self._l: dict[str, list[np.ndarray]] = {f: [] for f in _LINE_FIELDS}
        self.n_dossiers = 0

    def add_dossiers(self, bene: np.ndarray, day: np.ndarray, *, channel: np.ndarray, point: np.ndarray,
                     phone: np.ndarray, account: np.ndarray, lag: np.ndarray,
                     referrer: np.ndarray | None = None, tag: int | np.ndarray = -1,
                     lk: int | np.ndarray = -1) -> np.ndarray:
        """Add dossiers (one per entry) and return their builder indices; ``tag`` is a fraud
        ring's tag, ``lk`` a look-alike group index (-1 for none)."""
        n = len(bene)
        values = {
            "bene": bene, "day": day, "channel": channel, "point": point, "phone": phone, "account": account,
            "referrer": np.full(n, -1) if referrer is None else referrer, "lag": lag,
            "tag": np.broadcast_to(np.asarray(tag), (n,)), "lk": np.broadcast_to(np.asarray(lk), (n,)),
        }
        for key, value in values.items():
            self._d[key].append(np.asarray(value, dtype=np.int64))
        idx = np.arange(self.n_dossiers, self.n_dossiers + n)
        self.n_dossiers += n
        return idx

    def add_lines(self, dossier: np.ndarray, provider: np.ndarray, doctor: np.ndarray | int, act: np.ndarray, *,
                  qty: np.ndarray | int = 1, stay: np.ndarray | int = -1, offset: np.ndarray | int = 0,
                  factor: np.ndarray | float = 1.0, prior: np.ndarray | bool = False) -> None:
        """Add one act line per entry of ``dossier`` (arrays broadcast)."""
        n = len(dossier)
        values = {"dossier": dossier, "provider": provider, "doctor": doctor, "act": act, "qty": qty,
                  "stay": stay, "offset": offset, "factor": factor, "prior": prior}
        for key, value in values.items():
            dtype = np.float64 if key == "factor" else np.int64
            self._l[key].append(np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy())

    def lines_at(self, providers: np.ndarray) -> int:
        """Lines added so far this week billed by any of ``providers``."""
        if not self._l["provider"]:
            return 0
        return int(np.isin(np.concatenate(self._l["provider"]), providers).sum())

    def household_contact(self, rng: np.random.Generator, bene: np.ndarray, provider: np.ndarray,
                          direct_p: np.ndarray | float) -> dict[str, np.ndarray]:
        """How ordinary households file: channel, submission point, phone, payee account, referrer.

        ``provider`` is the dossier's main provider; with probability ``direct_p`` it is
        paid directly (PROVIDER_DIRECT, its own account as payee).
        """
        pop = self.pop
        n = len(bene)
        hh = pop.hh[bene]
        tadamon = pop.regime[bene] == TADAMON
        u = rng.random(n)
        channel = np.where(tadamon, np.where(u < 0.35, AGENCY, np.where(u < 0.92, PROXIMITY_POINT, ONLINE)),
                           np.where(u < 0.3, AGENCY, np.where(u < 0.6, PROXIMITY_POINT, ONLINE)))
        direct = rng.random(n) < direct_p
        channel = np.where(direct, PROVIDER_DIRECT, channel)
        point = np.select([channel == AGENCY, channel == PROXIMITY_POINT], [pop.hh_agency[hh], pop.hh_point[hh]], -1)
        # A household without a point on file (added persons) files at no point.
        channel = np.where((channel <= PROXIMITY_POINT) & (point < 0), ONLINE, channel)
        # Most dossiers carry the family phone; adults sometimes give their own.
        v = rng.random(n)
        own = PHONE_PERSONAL + np.where(pop.adult[bene], bene, pop.principal[bene])
        phone = np.where(v < 0.82, pop.hh_phone[hh], np.where(v < 0.97, own, -1))
        phone = np.where((phone < 0) & (v < 0.82), own, phone)
        account = np.where(channel == PROVIDER_DIRECT, ACCOUNT_PROVIDER + provider, pop.hh_account[hh])
        # A parent declared as accompanying person on a child's dossier, rarely.
        minor = ~pop.adult[bene]
        referrer = np.where(minor & (rng.random(n) < 0.01), pop.principal[bene], -1)
        lag = np.where(channel == PROVIDER_DIRECT, 3 + rng.poisson(8, n),
                       np.clip(rng.lognormal(2.1, 0.7, n), 0, 90).astype(np.int64))
        return {"channel": channel, "point": point, "phone": phone, "account": account, "referrer": referrer,
                "lag": lag}

    def finish(self, rng: np.random.Generator, claim_counter: int, pa_counter: int) -> Week:
        """Contract rows of the week, in claim id then line order (see :class:`Week`)."""
        d = {k: np.concatenate(v) if v else np.empty(0, np.int64) for k, v in self._d.items()}
        ln = {k: np.concatenate(v) if v else np.empty(0) for k, v in self._l.items()}
        nd = self.n_dossiers
        order = np.lexsort((rng.random(nd), d["day"]))
        rank = np.empty(nd, np.int64)
        rank[order] = np.arange(nd)
        claim_num = claim_counter + rank
        claim_ids = np.array([f"FS{k:010d}" for k in claim_num.tolist()], dtype=object)

        dos = ln["dossier"].astype(np.int64)
        line_order = np.lexsort((np.arange(len(dos)), rank[dos]))
        ln = {k: v[line_order] for k, v in ln.items()}
        dos = ln["dossier"].astype(np.int64)
        first = np.concatenate([[True], dos[1:] != dos[:-1]]) if len(dos) else np.empty(0, bool)
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(dos)), 0)) if len(dos) else first
        line_no = np.arange(len(dos)) - group_start + 1

        service = np.minimum(d["day"][dos] + ln["offset"].astype(np.int64), self.last_day)
        last_service = np.zeros(nd, np.int64)
        np.maximum.at(last_service, dos, service)
        submission = last_service[dos] + d["lag"][dos]

        has_prior = np.zeros(nd, bool)
        has_prior[dos[ln["prior"] > 0]] = True
        pa_rank = np.cumsum(has_prior[order]) - 1
        pa_num = np.full(nd, -1, np.int64)
        pa_num[order] = np.where(has_prior[order], pa_counter + pa_rank, -1)
        prior_ids = np.where(ln["prior"] > 0, pa_num[dos], -1)
        prior_text = np.array([None if k < 0 else f"PEC{k:09d}" for k in prior_ids.tolist()], dtype=object)

        bene = d["bene"][dos]
        pop, prov = self.pop, self.prov
        act = ln["act"].astype(np.int64)
        qty = ln["qty"].astype(np.int64)
        family = ACTS.family[act]
        tariff = ACTS.price[act] * qty
        claimed = np.round(tariff * ln["factor"], 2)
        ald = pop.ald[bene]
        rate = np.maximum(_RATE[family], np.where(ald, 0.9, 0.0))
        reimbursed = np.round(np.minimum(claimed, tariff) * rate, 2)
        provider = ln["provider"].astype(np.int64)
        doctor = ln["doctor"].astype(np.int64)
        stay = ln["stay"].astype(np.int64)
        start = self.start
        columns = {
            "claim_id": claim_ids[dos],
            "line_no": line_no.astype(np.int64),
            "beneficiary_id": beneficiary_ids(bene),
            "household_id": beneficiary_ids(pop.principal[bene]),
            "regime": np.array(REGIMES, dtype=object)[pop.regime[bene]],
            "birth_year": pop.birth_year[bene].astype(np.int64),
            "sex": np.where(pop.female[bene], "F", "M").astype(object),
            "beneficiary_region": np.array(REGION_CODES, dtype=object)[pop.region[bene]],
            "ald": ald,
            "provider_id": provider_ids(provider),
            "provider_type": np.array(PROVIDER_TYPES, dtype=object)[prov.ptype[provider]],
            "provider_region": np.array(REGION_CODES, dtype=object)[prov.region[provider]],
            "doctor_id": provider_ids(doctor),
            "doctor_specialty": np.where(doctor >= 0, prov.specialty[np.maximum(doctor, 0)], None),
            "act_code": ACTS.code[act],
            "act_family": np.array(FAMILIES, dtype=object)[family],
            "quantity": qty,
            "stay_days": np.where(stay >= 0, stay, -1),
            "service_date": (start + service.astype("timedelta64[D]")).astype("datetime64[ns]"),
            "submission_date": (start + submission.astype("timedelta64[D]")).astype("datetime64[ns]"),
            "amount_claimed": claimed,
            "amount_reimbursed": reimbursed,
            "prior_auth_id": prior_text,
            "channel": np.array(CHANNELS, dtype=object)[d["channel"][dos]],
            "submission_point_id": point_ids(d["point"][dos], pop.n_agencies),
            "contact_phone": phone_ids(d["phone"][dos]),
            "payee_account": account_ids(d["account"][dos]),
            "referrer_id": referrer_ids(d["referrer"][dos]),
        }
        lks = d["lk"].copy()
        if self.mixed_group >= 0 and len(dos):
            pairs = np.unique(dos * prov.n + provider)
            n_providers = np.bincount(pairs // prov.n, minlength=nd)
            lks[(lks < 0) & (d["tag"] < 0) & (n_providers >= 3)] = self.mixed_group
        if self.noise is not None:
            columns["ald"] = ald.astype(np.int8)
            apply_noise(self.noise, columns, provider, doctor, self._phone_formats(rng, d, dos, provider, first)[dos])
        return Week(columns, claim_ids, d["tag"], lks, claim_counter + nd, pa_counter + int(has_prior.sum()))

    def _phone_formats(self, rng: np.random.Generator, d: dict[str, np.ndarray], dos: np.ndarray,
                       provider: np.ndarray, first: np.ndarray) -> np.ndarray:
        """One phone format per dossier: its submission point's, its billing provider's, or
        the online form's."""
        noise = self.noise
        nd = self.n_dossiers
        first_provider = np.zeros(nd, np.int64)
        first_provider[dos[first]] = provider[first]
        channel, point = d["channel"], d["point"]
        fmt = np.zeros(nd, np.int8)
        at_point = (channel <= PROXIMITY_POINT) & (point >= 0)
        fmt[at_point] = noise.point_format[point[at_point]]
        fmt[(channel == ONLINE) & (rng.random(nd) < noise.online_share)] = 1
        direct = channel == PROVIDER_DIRECT
        fmt[direct] = noise.provider_format[first_provider[direct]]
        return fmt
