"""The insurer's own control indicators, against peer groups.

Each provider (and each doctor) gets the indicators AMO controllers use, and a
robust z-score (median/MAD) against its peers of the same type (doctors: same
specialty) and region:

- ``visits_per_beneficiary``: dossiers per patient;
- ``amount_per_beneficiary``: amount claimed per patient (compared on a log scale);
- ``quantity_per_stay``: units billed per hospital stay line;
- ``revenue_growth``: claimed amount per week in the last third of the window
  against the first two thirds;
- ``expensive_growth``: the same for surgeries and stays (expensive surgeries multiplying);
- ``non_ald_ald_drugs``: share of medication lines that are ALD or injectable drugs
  given to patients without an ALD;
- ``surgery_without_consultation``: share of surgeries whose patient has no
  consultation anywhere before it in the window;
- ``far_tadamon_expensive``: share of the amount billed for Tadamon patients from
  another region on expensive acts;
- ``volume``: dossiers billed (compared on a log scale).

Visits and amounts per patient leave out expected chronic care (``ald_care`` lines:
dialysis sessions, ALD injectables for ALD patients), which is legitimately frequent
and dear. Each indicator's robust z becomes a surprise (:mod:`detectors.calibration`),
corrected for the number of entities and indicators looked at; an entity's score
combines its two most surprising indicators.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector, peer_groups, peer_z
from detectors.calibration import combine, tail_log10
from detectors.config import default
from ingest.encode import IdCodes

__all__ = ["INDICATORS", "control_indicators", "score_indicators", "compare_with_peers", "min_scales",
           "IndicatorDetector"]

#: indicator -> one-sentence evidence template
INDICATORS: dict[str, str] = {
    "visits_per_beneficiary": "{v:.1f} dossiers per patient, z={z:.1f} against its peers",
    "amount_per_beneficiary": "{v:,.0f} MAD claimed per patient, z={z:.1f} against its peers",
    "quantity_per_stay": "{v:.1f} units billed per stay line, z={z:.1f} against its peers",
    "revenue_growth": "weekly amount x{v:.1f} in the recent weeks, z={z:.1f} against its peers",
    "expensive_growth": "weekly surgeries/stays x{v:.1f} in the recent weeks, z={z:.1f} against its peers",
    "non_ald_ald_drugs": "{v:.0%} of its medication lines are ALD drugs for patients without ALD (z={z:.1f})",
    "surgery_without_consultation": "{v:.0%} of its surgeries have no prior consultation (z={z:.1f})",
    "far_tadamon_expensive": "{v:.0%} of its amount is expensive acts for Tadamon patients from elsewhere (z={z:.1f})",
    "volume": "{v:,.0f} dossiers billed, z={z:.1f} against its peers",
}


#: smallest spread of each indicator (declared in detectors/config.py as ``indicators.min_scale_<name>``):
#: a z-score needs at least this deviation per unit
MIN_SCALE: dict[str, float] = {name: default(f"indicators.min_scale_{name}") for name in INDICATORS}


#: indicators compared on a log scale: costs per patient are skewed, and being twice as dear
#: as the peers is what matters
LOG_SCALE: tuple[str, ...] = ("amount_per_beneficiary", "volume")

#: act families a provider's own doctors perform on its premises (its staff, for the size band)
_ONSITE_FAMILIES: tuple[str, ...] = ("SURGERY", "HOSPITAL_STAY", "CONSULTATION")

#: peer columns of each indicator, finest grouping last (see :func:`detectors.base.peer_groups`):
#: volumes are compared with providers of the same type and size band before the region
PEERS: dict[str, list[str]] = {name: ["peer_type", "region"] for name in (
    "visits_per_beneficiary", "amount_per_beneficiary", "quantity_per_stay", "revenue_growth", "expensive_growth",
    "non_ald_ald_drugs", "surgery_without_consultation", "far_tadamon_expensive")}
PEERS["volume"] = ["peer_type", "size_band", "region"]


def control_indicators(lines: pd.DataFrame, *, by: str = "provider_id",
                       size_band_base: float = default("indicators.size_band_base"),
                       codes: IdCodes | None = None, public_types: tuple[str, ...] = ()) -> pd.DataFrame:
    """Compute the control indicators of every ``by`` entity, and how precisely each is known.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    by : {"provider_id", "doctor_id"}
        The entity the indicators describe.
    size_band_base : float
        Base of the logarithm of a provider's staff that makes its size band.
    codes : IdCodes, optional
        The lines' identifier codes (``DetectionContext.codes``); made here when absent.
    public_types : tuple of str
        Provider types that treat referred Tadamon patients by design (``lines.public_types``): their
        lines are not far Tadamon patients' expensive acts to suspect.

    Returns
    -------
    DataFrame
        One row per entity: ``entity_id``, ``peer_type``, ``region``, ``size_band``,
        ``n_lines``, ``amount``, one column per indicator of :data:`INDICATORS` and,
        for each, ``se2_<indicator>``: the sampling variance of its value on the scale
        it is compared on (:data:`LOG_SCALE`), given how many patients, lines or
        dossiers it rests on (:func:`score_indicators` reads it).
    """
    peer_col = "doctor_specialty" if by == "doctor_id" else "provider_type"
    # Grouped on integer codes of the identifiers (sorted, so groups come in the order of a sorted
    # group-by on the text), each column read as one array: no row selection copies the lines'
    # columns and no group-by hashes text (on a national window, 2 GB and most of the CPU).
    df = _Entities(lines, by, codes or IdCodes(lines))
    g = df.group("amount_claimed")
    out = pd.DataFrame({
        "n_lines": g.size(),
        "amount": g.sum(),
        "n_patients": df.distinct("beneficiary_id"),
        "n_dossiers": df.distinct("claim_id"),
    }, index=df.index)
    out["peer_type"] = _most_common(df, peer_col).reindex(out.index).fillna("NA")
    out["region"] = _most_common(df, "provider_region").reindex(out.index).fillna("NA")
    out["size_band"] = _size_band(df, by, size_band_base).reindex(out.index).fillna(0).astype(np.int64)
    per_type = out["peer_type"]
    # Chronic care of ALD patients is frequent and dear by nature: the per-patient ratios leave it out.
    acute = ~df["ald_care"].to_numpy(bool) if "ald_care" in df else None
    # One row per (entity, acute patient): dossiers and amount, the units the per-patient ratios average.
    per_patient = df.per_patient(acute)
    pp = per_patient.groupby("entity", sort=True)
    acute_patients = pp.size().reindex(out.index).fillna(0)
    out["visits_per_beneficiary"] = pp["dossiers"].sum().reindex(out.index).fillna(0) / acute_patients.clip(lower=1)
    out["amount_per_beneficiary"] = pp["amount"].sum().reindex(out.index).fillna(0) / acute_patients.clip(lower=1)
    # A mean over n patients wobbles by the patients' spread / sqrt(n): the spread is pooled over the
    # entity's type (a small entity's own spread is itself noise).
    visit_var = _pooled(pp["dossiers"].var(ddof=0), per_type, acute_patients)
    amount_cv2 = _pooled(pp["amount"].var(ddof=0) / pp["amount"].mean().clip(lower=1e-9) ** 2, per_type,
                         acute_patients)
    out["se2_visits_per_beneficiary"] = visit_var / acute_patients.clip(lower=1)
    out["se2_amount_per_beneficiary"] = amount_cv2 / acute_patients.clip(lower=1)
    out["volume"] = out["n_dossiers"].astype(float)
    out["se2_volume"] = 1.0 / (out["n_dossiers"] + 1.0)

    family = df["act_family"]
    gs = df.group("quantity", (family == "HOSPITAL_STAY").to_numpy(bool))
    n_stays = gs.size().reindex(out.index).fillna(0)
    out["quantity_per_stay"] = gs.mean().reindex(out.index).fillna(0.0)
    out["se2_quantity_per_stay"] = _pooled(gs.var(ddof=0), per_type, n_stays) / n_stays.clip(lower=1)

    dates = df["service_date"]
    start, end = dates.min(), dates.max()
    span_days = max((end - start).days + 1, 3) if len(dates) else 3
    cut = start + pd.Timedelta(days=int(span_days * 2 / 3))
    recent = (dates >= cut).to_numpy()
    weeks_early = max((cut - start).days / 7, 1 / 7)
    weeks_recent = max(span_days / 7 - weeks_early, 1 / 7)
    # A weekly amount of n lines wobbles like a compound Poisson sum: variance (1 + cv^2) x mean line
    # amount x amount, per week squared; the ratio's variance follows by the delta method.
    line_cv2 = _pooled(g.var(ddof=0) / g.mean().clip(lower=1e-9) ** 2, per_type, out["n_lines"])
    mean_line = out["amount"] / out["n_lines"].clip(lower=1)
    expensive = df["expensive"].to_numpy(bool)
    for name, mask in (("revenue_growth", np.ones(len(dates), bool)), ("expensive_growth", expensive)):
        early_amt = df.group("amount_claimed", mask & ~recent).sum().reindex(out.index).fillna(0)
        late_amt = df.group("amount_claimed", mask & recent).sum().reindex(out.index).fillna(0)
        rate_early = early_amt / weeks_early
        rate_late = late_amt / weeks_recent
        # Smoothed ratio: one claim in an empty early window is not a "growth".
        prior = out["amount"] / (span_days / 7) * 0.25 + 1.0
        out[name] = (rate_late + prior) / (rate_early + prior)
        log_var = (1.0 + line_cv2) * mean_line * (rate_late / weeks_recent / (rate_late + prior) ** 2
                                                  + rate_early / weeks_early / (rate_early + prior) ** 2)
        out[f"se2_{name}"] = out[name] ** 2 * log_var

    med = df.group("non_ald_ald_drug", (family == "MEDICATION").to_numpy(bool))
    n_med = med.size().reindex(out.index).fillna(0)
    n_bad = med.sum().reindex(out.index).fillna(0)
    out["non_ald_ald_drugs"] = n_bad / n_med.clip(lower=1)
    out["se2_non_ald_ald_drugs"] = _share_variance(n_bad, n_med, per_type)

    lacking, n_surgeries = _surgery_without_consultation(lines, df)
    n_surgeries = n_surgeries.reindex(out.index).fillna(0)
    lacking = lacking.reindex(out.index).fillna(0)
    out["surgery_without_consultation"] = lacking / n_surgeries.clip(lower=1)
    out["se2_surgery_without_consultation"] = _share_variance(lacking, n_surgeries, per_type)

    # Expected care is not suspected: chronic care (a far ALD patient's chemotherapy) and the public
    # hospitals that referred Tadamon patients are sent to.
    fte = (df["tadamon"] & df["far"] & df["expensive"]).to_numpy() & ~df["provider_type"].isin(public_types).to_numpy()
    if "ald_care" in df:
        fte &= ~df["ald_care"].to_numpy(bool)
    fte_amount = df.group("amount_claimed", fte).sum().reindex(out.index).fillna(0)
    out["far_tadamon_expensive"] = fte_amount / out["amount"].clip(lower=1e-9)
    # An amount share rests on the lines that carry the amount: Kish's effective number of lines.
    squares = (df["amount_claimed"] ** 2).groupby(df.entity).sum().reindex(out.index).fillna(0)
    n_eff = out["amount"] ** 2 / squares.clip(lower=1e-9)
    out["se2_far_tadamon_expensive"] = _share_variance(out["far_tadamon_expensive"] * n_eff, n_eff, per_type)
    out.index = df.ids
    return out.reset_index()


class _Entities:
    """The lines of the entities of ``by`` (those with an id), as integer codes and single columns.

    ``entity`` is the code of each such line's entity (its rank among the sorted ids, ``ids``);
    columns are read for those lines only, one at a time, so nothing copies the lines' rows.
    """

    def __init__(self, lines: pd.DataFrame, by: str, codes: IdCodes):
        self.lines, self.codes = lines, codes
        entity, self.ids = codes(by)
        self.ids = self.ids.rename("entity_id")
        known = entity >= 0
        self.rows = None if known.all() else np.flatnonzero(known)
        self.entity = entity if self.rows is None else entity[self.rows]
        self.index = pd.RangeIndex(len(self.ids))

    def column(self, name: str) -> pd.Series:
        """The column's values on the entities' lines, in line order, positionally indexed."""
        values = self.lines[name]
        values = values if self.rows is None else values.iloc[self.rows]
        return values.reset_index(drop=True)

    __getitem__ = column

    def __contains__(self, name: str) -> bool:
        return name in self.lines

    def __len__(self) -> int:
        return len(self.entity)

    def line_codes(self, name: str) -> np.ndarray:
        """:class:`IdCodes` of an identifier column on the entities' lines (-1 where missing)."""
        codes = self.codes(name)[0]
        return codes if self.rows is None else codes[self.rows]

    def group(self, name: str, mask: np.ndarray | None = None):
        """The column grouped by entity (sorted), on the lines of ``mask`` when given."""
        values = self.column(name)
        if mask is None:
            return values.groupby(self.entity, sort=True)
        return values[mask].groupby(self.entity[mask], sort=True)

    def distinct(self, name: str, mask: np.ndarray | None = None) -> pd.Series:
        """Distinct non-missing values of an identifier column per entity (a group-by's ``nunique``) of the
        entities with lines (in ``mask`` when given)."""
        other = self.line_codes(name)
        entity = self.entity if mask is None else self.entity[mask]
        other = other if mask is None else other[mask]
        counts = _count_distinct(entity, other, len(self.ids))
        present = np.bincount(entity, minlength=len(self.ids)) > 0
        return pd.Series(counts, index=self.index)[present]

    def per_patient(self, mask: np.ndarray | None) -> pd.DataFrame:
        """One row per (entity, patient) of the lines of ``mask``, in order of first appearance (a group-by's
        without sorting): the entity's code, the patient's distinct dossiers and amount claimed."""
        patient, claim = self.line_codes("beneficiary_id"), self.line_codes("claim_id")
        keep = patient >= 0 if mask is None else mask & (patient >= 0)
        width = int(patient.max()) + 1
        # codes in order of first appearance, as a group-by without sorting numbers its groups
        pair_code, pairs = pd.factorize(self.entity[keep].astype(np.int64) * width + patient[keep])
        amount = self.column("amount_claimed")[keep].groupby(pair_code, sort=True).sum().to_numpy()
        return pd.DataFrame({"entity": pairs // max(width, 1),
                             "dossiers": _count_distinct(pair_code, claim[keep], len(pairs)), "amount": amount})


def _count_distinct(keys: np.ndarray, values: np.ndarray, n_keys: int) -> np.ndarray:
    """Per key 0..n_keys-1, the distinct non-negative ``values`` on its rows (int64)."""
    known = values >= 0
    if not known.any():
        return np.zeros(n_keys, np.int64)
    width = int(values.max()) + 1
    pairs = pd.unique(keys[known].astype(np.int64) * width + values[known])
    return np.bincount(pairs // width, minlength=n_keys).astype(np.int64)


def _most_common(df: _Entities, column: str) -> pd.Series:
    """Most frequent non-empty value of ``column`` per entity (ties: the smallest value)."""
    # Counted on the column's codes and made text only per (entity, value): text per line cost a
    # national window millions of Python strings. The sort is total, so the order counts come
    # out in does not matter.
    values = df[column]
    codes, uniques = pd.factorize(values)
    keep = codes >= 0
    width = max(len(uniques), 1)
    n = pd.Series(df.entity[keep].astype(np.int64) * width + codes[keep]).value_counts(sort=False)
    pairs = n.index.to_numpy()
    counts = pd.DataFrame({"entity": pairs // width, "n": n.to_numpy(),
                           column: np.asarray(uniques.astype(str), dtype=object)[pairs % width]})
    counts = counts.sort_values(["entity", "n", column], ascending=[True, False, True], kind="mergesort")
    return counts.drop_duplicates("entity").set_index("entity")[column].astype(str)


def _size_band(df: _Entities, by: str, base: float) -> pd.Series:
    """Size band of each provider: 1 + floor(log in ``base``) of the doctors who work on its premises.

    A clinic's volume grows with its surgeons; the doctors on its surgery, stay and
    consultation lines are its staff (on a pharmacy's, lab's or imaging centre's lines the
    doctor is a prescriber, not staff: those have band 0, as have doctors).
    """
    if by != "provider_id":
        return pd.Series(dtype=np.int64)
    onsite = df["act_family"].isin(_ONSITE_FAMILIES).to_numpy(bool) & (df.line_codes("doctor_id") >= 0)
    staff = df.distinct("doctor_id", onsite)
    return (np.floor(np.log(staff.clip(lower=1)) / np.log(base) + 1e-9) + 1).astype(np.int64)


def _pooled(values: pd.Series, per_type: pd.Series, units: pd.Series) -> pd.Series:
    """Each entity's within-entity spread replaced by the median over its type (entities with 2+ units)."""
    v = values.reindex(per_type.index)
    ok = (units.reindex(per_type.index).fillna(0) >= 2) & v.notna()
    by_type = v[ok].groupby(per_type[ok]).median()
    overall = float(v[ok].median()) if ok.any() else 0.0
    return per_type.map(by_type).fillna(overall).fillna(0.0).astype(float)


def _share_variance(hits: pd.Series, n: pd.Series, per_type: pd.Series) -> pd.Series:
    """Binomial variance of a share of ``n`` units around its type's pooled share (Jeffreys-smoothed)."""
    p = (hits.groupby(per_type).sum() + 0.5) / (n.groupby(per_type).sum() + 1.0)
    p0 = per_type.map(p).astype(float)
    return p0 * (1.0 - p0) / n.clip(lower=1.0)


def _surgery_without_consultation(lines: pd.DataFrame, df: _Entities) -> tuple[pd.Series, pd.Series]:
    """Per entity: surgeries whose patient had no consultation before them, and all its surgeries."""
    patients, _ = df.codes("beneficiary_id")
    consult = ((lines["act_family"] == "CONSULTATION").to_numpy(bool)) & (patients >= 0)
    dates = lines["service_date"]
    first_consult = dates[consult].groupby(patients[consult]).min()
    surgery = (df["act_family"] == "SURGERY").to_numpy(bool)
    if not surgery.any():
        return pd.Series(dtype=float), pd.Series(dtype=float)
    surg_dates = df["service_date"][surgery]
    fc = first_consult.reindex(df.line_codes("beneficiary_id")[surgery]).to_numpy()
    lacking = pd.Series((pd.isna(fc) | (fc > surg_dates.to_numpy())).astype(float))
    by = lacking.groupby(df.entity[surgery])
    return by.sum(), by.size().astype(float)


def score_indicators(table: pd.DataFrame, *, entity_type: str, min_lines: int = 5,
                     min_peers: int = 8, cap: float = 12.0, tail_df: float = 8.0,
                     min_scale: dict[str, float] | None = None) -> pd.DataFrame:
    """Robust z of every indicator within peers, its surprise, and one score per entity.

    Each indicator's z (capped at ``cap``) becomes a surprise against the number of
    entities x indicators looked at (:func:`detectors.calibration.surprise`); the
    score combines the two most surprising by Fisher's method (an entity with
    nothing surprising keeps its best, negative, surprise so that the ranking goes
    on below zero). Entities with fewer than ``min_lines`` lines are not scored.

    Parameters
    ----------
    table : DataFrame
        :func:`control_indicators`.
    entity_type : str
        Written in the scores.
    min_lines : int
        Entities with fewer lines are not scored.
    min_peers : int
        Smallest peer group (see :func:`detectors.base.peer_groups`).
    cap : float
        Cap on each z-score (both ways).
    tail_df : float
        Degrees of freedom of the tail a z-score's surprise is read from.
    min_scale : dict, optional
        Smallest peer spread of each indicator (default :data:`MIN_SCALE`).

    Returns
    -------
    DataFrame
        Columns entity_type, entity_id, score, evidence, amount_at_risk and one
        ``z_<indicator>`` column per indicator.
    """
    t, z = _scored(table, min_lines=min_lines, min_peers=min_peers, cap=cap, min_scale=min_scale)
    if t.empty:
        return pd.DataFrame(columns=["entity_type", "entity_id", "score", "evidence", "amount_at_risk"])
    names = list(INDICATORS)
    unclipped = -(tail_log10(z.to_numpy(), df=tail_df) + np.log10(len(t) * len(names)))
    top = np.sort(unclipped, axis=1)[:, ::-1]
    score = np.array([combine([a, b] if b > 0 else [a]) if a > 0 else a for a, b in top[:, :2]])
    best = unclipped.argmax(axis=1)
    # Plain arrays: a label lookup per entity cost a third of the detector on a national window.
    values, zs = t[names].to_numpy(dtype=float), z.to_numpy(dtype=float)
    evidence = [INDICATORS[names[b]].format(v=float(values[i, b]), z=float(zs[i, b])) for i, b in enumerate(best)]
    out = pd.DataFrame({
        "entity_type": entity_type,
        "entity_id": t["entity_id"].astype(str),
        "score": np.round(score, 6),
        "evidence": evidence,
        "amount_at_risk": np.round(t["amount"] * t["far_tadamon_expensive"].clip(0, 1), 2),
        "top_indicator": [names[b] for b in best],
    })
    return pd.concat([out, z.add_prefix("z_")], axis=1)


def compare_with_peers(table: pd.DataFrame, *, min_lines: int = 5, min_peers: int = 8,
                       cap: float = 12.0, min_scale: dict[str, float] | None = None) -> pd.DataFrame:
    """Each indicator of each scored entity beside the peer group :func:`score_indicators` compares it with.

    The figures are the detector's own: the same entities (``min_lines``), peer groups
    (``min_peers``, with the same fallbacks) and capped z-scores.

    Parameters
    ----------
    table : DataFrame
        :func:`control_indicators` of the run's claim lines.
    min_lines, min_peers, cap, min_scale
        The detector's parameters (:class:`IndicatorDetector`, :func:`min_scales`).

    Returns
    -------
    DataFrame
        One row per entity and indicator: entity_id, peer_type, region, indicator (a
        key of :data:`INDICATORS`), value, peer_group (``"<type>, region <r>"``,
        ``"<type>, every region"`` or ``"everyone"``), n_peers (the group's size, the
        entity included), peer_median (of the values, on the scale they are compared
        on) and z (as scored: capped at ``±cap``).
    """
    columns = ["entity_id", "peer_type", "region", "indicator", "value", "peer_group", "n_peers", "peer_median", "z"]
    t, z = _scored(table, min_lines=min_lines, min_peers=min_peers, cap=cap, min_scale=min_scale)
    if t.empty:
        return pd.DataFrame(columns=columns)
    compared = _on_scale(t)
    parts = []
    for name in INDICATORS:
        groups = peer_groups(t, PEERS[name], min_peers=min_peers)
        labels = _group_labels(t, PEERS[name], groups["n_columns"].to_numpy())
        medians = compared.groupby(groups["group"].to_numpy())[name].median()
        median = medians.reindex(groups["group"].to_numpy()).to_numpy(float)
        parts.append(pd.DataFrame({
            "entity_id": t["entity_id"].astype(str), "peer_type": t["peer_type"].astype(str),
            "region": t["region"].astype(str), "indicator": name, "value": t[name].astype(float),
            "peer_group": labels, "n_peers": groups["size"].to_numpy(),
            "peer_median": np.expm1(median) if name in LOG_SCALE else median, "z": z[name].to_numpy(float),
        }))
    out = pd.concat(parts, ignore_index=True)
    order = {name: k for k, name in enumerate(INDICATORS)}
    return (out.assign(_k=out["indicator"].map(order)).sort_values(["entity_id", "_k"], kind="mergesort")
            .drop(columns="_k").reset_index(drop=True)[columns])


def _group_labels(t: pd.DataFrame, peers: list[str], n_columns: np.ndarray) -> np.ndarray:
    """``"<type>, size band <b>, region <r>"``, ``"<type>, every region"``, ... or ``"everyone"``."""
    words = {"peer_type": lambda: t["peer_type"].astype(str), "region": lambda: "region " + t["region"].astype(str),
             "size_band": lambda: "size band " + t["size_band"].astype(str)}
    labels = np.full(len(t), "everyone", dtype=object)
    for k in range(1, len(peers) + 1):
        parts = [words[c]() for c in peers[:k]]
        text = parts[0]
        for extra in parts[1:]:
            text = text + ", " + extra
        if k < len(peers) and "region" not in peers[:k]:
            text = text + ", every region"
        labels = np.where(n_columns == k, text.to_numpy(object), labels)
    return labels


def _on_scale(t: pd.DataFrame) -> pd.DataFrame:
    """The indicators as compared: :data:`LOG_SCALE` ones as log1p."""
    return t.assign(**{name: np.log1p(t[name]) for name in LOG_SCALE})


def _scored(table: pd.DataFrame, *, min_lines: int, min_peers: int, cap: float,
            min_scale: dict[str, float] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The entities scored (``min_lines`` or more lines) and their funnel z per indicator, capped at ``±cap``."""
    floors = MIN_SCALE | dict(min_scale or {})
    t = table.loc[table["n_lines"] >= min_lines].reset_index(drop=True)
    logged = _on_scale(t)
    z = pd.DataFrame({
        name: np.clip(np.nan_to_num(peer_z(logged, name, PEERS[name], min_peers=min_peers,
                                           min_scale=floors[name], variance=f"se2_{name}")), -cap, cap)
        for name in INDICATORS
    }, index=t.index)
    return t, z


def min_scales(params: dict[str, Any]) -> dict[str, float]:
    """The smallest peer spread of each indicator from the detector's parameters (``min_scale_<indicator>``).

    Parameters
    ----------
    params : dict
        :meth:`IndicatorDetector.get_params`, or the run's ``indicators`` configuration section.
    """
    return {name: float(params.get(f"min_scale_{name}", MIN_SCALE[name])) for name in INDICATORS}


class IndicatorDetector(Detector):
    """Control indicators of providers and doctors against their peers.

    Parameters
    ----------
    min_lines : int
        Entities with fewer claim lines are not scored.
    min_peers : int
        Smallest peer group (type x region); smaller ones fall back to type alone.
    cap : float
        Cap on each indicator's z-score.
    size_band_base : float
        Base of the logarithm of a provider's staff that makes its size band (volume peers).
    min_scale_visits_per_beneficiary, min_scale_amount_per_beneficiary, min_scale_quantity_per_stay, \
min_scale_revenue_growth, min_scale_expensive_growth, min_scale_non_ald_ald_drugs, \
min_scale_surgery_without_consultation, min_scale_far_tadamon_expensive, min_scale_volume : float
        Smallest peer spread of each indicator (``indicators.min_scale_<indicator>``).
    """

    name = "indicators"

    def __init__(
        self,
        min_lines: int = default("indicators.min_lines"),
        min_peers: int = default("indicators.min_peers"),
        cap: float = default("indicators.cap"),
        size_band_base: float = default("indicators.size_band_base"),
        min_scale_visits_per_beneficiary: float = default("indicators.min_scale_visits_per_beneficiary"),
        min_scale_amount_per_beneficiary: float = default("indicators.min_scale_amount_per_beneficiary"),
        min_scale_quantity_per_stay: float = default("indicators.min_scale_quantity_per_stay"),
        min_scale_revenue_growth: float = default("indicators.min_scale_revenue_growth"),
        min_scale_expensive_growth: float = default("indicators.min_scale_expensive_growth"),
        min_scale_non_ald_ald_drugs: float = default("indicators.min_scale_non_ald_ald_drugs"),
        min_scale_surgery_without_consultation: float = default("indicators.min_scale_surgery_without_consultation"),
        min_scale_far_tadamon_expensive: float = default("indicators.min_scale_far_tadamon_expensive"),
        min_scale_volume: float = default("indicators.min_scale_volume"),
    ):
        self.min_lines = min_lines
        self.min_peers = min_peers
        self.cap = cap
        self.size_band_base = size_band_base
        self.min_scale_visits_per_beneficiary = min_scale_visits_per_beneficiary
        self.min_scale_amount_per_beneficiary = min_scale_amount_per_beneficiary
        self.min_scale_quantity_per_stay = min_scale_quantity_per_stay
        self.min_scale_revenue_growth = min_scale_revenue_growth
        self.min_scale_expensive_growth = min_scale_expensive_growth
        self.min_scale_non_ald_ald_drugs = min_scale_non_ald_ald_drugs
        self.min_scale_surgery_without_consultation = min_scale_surgery_without_consultation
        self.min_scale_far_tadamon_expensive = min_scale_far_tadamon_expensive
        self.min_scale_volume = min_scale_volume

    def _run(self, context: DetectionContext) -> tuple[pd.DataFrame | None, None, dict[str, Any]]:
        frames = []
        floors = min_scales(self.get_params())
        public = context.config.names("lines.public_types")
        for by, etype in (("provider_id", "PROVIDER"), ("doctor_id", "DOCTOR")):
            table = control_indicators(context.lines, by=by, size_band_base=self.size_band_base,
                                       codes=context.codes, public_types=public)
            frames.append(score_indicators(table, entity_type=etype, min_lines=self.min_lines,
                                           min_peers=self.min_peers, cap=self.cap,
                                           tail_df=context.config.get("calibration.tail_df"), min_scale=floors))
        scores = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
        n = 0 if scores is None else len(scores)
        return scores, None, {"scored": n}
