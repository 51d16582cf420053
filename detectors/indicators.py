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

from detectors.base import DetectionContext, Detector, peer_z
from detectors.calibration import combine, tail_log10
from detectors.config import default

__all__ = ["INDICATORS", "control_indicators", "score_indicators", "IndicatorDetector"]

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


#: smallest spread of each indicator: a z-score needs at least this deviation per unit
MIN_SCALE: dict[str, float] = {
    "visits_per_beneficiary": 0.25, "amount_per_beneficiary": 0.1, "quantity_per_stay": 0.5, "revenue_growth": 0.25,
    "expensive_growth": 0.25,
    "non_ald_ald_drugs": 0.05, "surgery_without_consultation": 0.05, "far_tadamon_expensive": 0.05, "volume": 0.25,
}


#: indicators compared on a log scale: costs per patient are skewed, and being twice as dear
#: as the peers is what matters
LOG_SCALE: tuple[str, ...] = ("amount_per_beneficiary", "volume")


def control_indicators(lines: pd.DataFrame, *, by: str = "provider_id") -> pd.DataFrame:
    """Compute the control indicators of every ``by`` entity.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    by : {"provider_id", "doctor_id"}
        The entity the indicators describe.

    Returns
    -------
    DataFrame
        One row per entity: ``entity_id``, ``peer_type``, ``region``, ``n_lines``,
        ``amount`` and one column per indicator of :data:`INDICATORS`.
    """
    df = lines.loc[lines[by].notna()].copy()
    df["entity_id"] = df[by].astype(str)
    g = df.groupby("entity_id", sort=True)
    out = pd.DataFrame({
        "n_lines": g.size(),
        "amount": g["amount_claimed"].sum(),
        "n_patients": g["beneficiary_id"].nunique(),
        "n_dossiers": g["claim_id"].nunique(),
    })
    peer_col = "doctor_specialty" if by == "doctor_id" else "provider_type"
    out["peer_type"] = _most_common(df, peer_col).reindex(out.index).fillna("NA")
    out["region"] = _most_common(df, "provider_region").reindex(out.index).fillna("NA")
    # Chronic care of ALD patients is frequent and dear by nature: the per-patient ratios leave it out.
    acute = df.loc[~df["ald_care"].to_numpy(bool)] if "ald_care" in df else df
    ga = acute.groupby("entity_id", sort=True)
    acute_patients = ga["beneficiary_id"].nunique().reindex(out.index).fillna(0)
    out["visits_per_beneficiary"] = (ga["claim_id"].nunique().reindex(out.index).fillna(0)
                                     / acute_patients.clip(lower=1))
    out["amount_per_beneficiary"] = (ga["amount_claimed"].sum().reindex(out.index).fillna(0)
                                     / acute_patients.clip(lower=1))
    out["volume"] = out["n_dossiers"].astype(float)

    stays = df[df["act_family"] == "HOSPITAL_STAY"]
    per_stay = stays.groupby("entity_id")["quantity"].mean()
    out["quantity_per_stay"] = per_stay.reindex(out.index).fillna(0.0)

    start, end = df["service_date"].min(), df["service_date"].max()
    span_days = max((end - start).days + 1, 3) if len(df) else 3
    cut = start + pd.Timedelta(days=int(span_days * 2 / 3))
    recent = df["service_date"] >= cut
    weeks_early = max((cut - start).days / 7, 1 / 7)
    weeks_recent = max(span_days / 7 - weeks_early, 1 / 7)
    for name, mask in (("revenue_growth", np.ones(len(df), bool)), ("expensive_growth", df["expensive"].to_numpy())):
        early_amt = df.loc[mask & ~recent].groupby("entity_id")["amount_claimed"].sum().reindex(out.index).fillna(0)
        late_amt = df.loc[mask & recent].groupby("entity_id")["amount_claimed"].sum().reindex(out.index).fillna(0)
        rate_early = early_amt / weeks_early
        rate_late = late_amt / weeks_recent
        # Smoothed ratio: one claim in an empty early window is not a "growth".
        prior = out["amount"] / (span_days / 7) * 0.25 + 1.0
        out[name] = (rate_late + prior) / (rate_early + prior)

    med = df[df["act_family"] == "MEDICATION"]
    n_med = med.groupby("entity_id").size().reindex(out.index).fillna(0)
    n_bad = med.groupby("entity_id")["non_ald_ald_drug"].sum().reindex(out.index).fillna(0)
    out["non_ald_ald_drugs"] = n_bad / n_med.clip(lower=1)

    out["surgery_without_consultation"] = _surgery_without_consultation(lines, df).reindex(out.index).fillna(0.0)

    fte = df["tadamon"] & df["far"] & df["expensive"]
    out["far_tadamon_expensive"] = (
        df.loc[fte].groupby("entity_id")["amount_claimed"].sum().reindex(out.index).fillna(0)
        / out["amount"].clip(lower=1e-9)
    )
    return out.reset_index()


def _most_common(df: pd.DataFrame, column: str) -> pd.Series:
    """Most frequent non-empty value of ``column`` per entity (ties: the smallest value)."""
    counts = df.loc[df[column].notna()].groupby(["entity_id", df[column].astype(str)]).size().rename("n")
    counts = counts.reset_index().sort_values(["entity_id", "n", column], ascending=[True, False, True],
                                               kind="mergesort")
    return counts.drop_duplicates("entity_id").set_index("entity_id")[column].astype(str)


def _surgery_without_consultation(lines: pd.DataFrame, df: pd.DataFrame) -> pd.Series:
    consult = lines.loc[lines["act_family"] == "CONSULTATION"]
    first_consult = consult.groupby("beneficiary_id")["service_date"].min()
    surg = df.loc[df["act_family"] == "SURGERY", ["entity_id", "beneficiary_id", "service_date"]]
    if surg.empty:
        return pd.Series(dtype=float)
    fc = surg["beneficiary_id"].map(first_consult)
    lacking = fc.isna() | (fc > surg["service_date"])
    return lacking.groupby(surg["entity_id"]).mean()


def score_indicators(table: pd.DataFrame, *, entity_type: str, min_lines: int = 5,
                     min_peers: int = 8, cap: float = 12.0, tail_df: float = 8.0) -> pd.DataFrame:
    """Robust z of every indicator within peers, its surprise, and one score per entity.

    Each indicator's z (capped at ``cap``) becomes a surprise against the number of
    entities x indicators looked at (:func:`detectors.calibration.surprise`); the
    score combines the two most surprising by Fisher's method (an entity with
    nothing surprising keeps its best, negative, surprise so that the ranking goes
    on below zero). Entities with fewer than ``min_lines`` lines are not scored.

    Returns
    -------
    DataFrame
        Columns entity_type, entity_id, score, evidence, amount_at_risk and one
        ``z_<indicator>`` column per indicator.
    """
    t = table.loc[table["n_lines"] >= min_lines].reset_index(drop=True)
    if t.empty:
        return pd.DataFrame(columns=["entity_type", "entity_id", "score", "evidence", "amount_at_risk"])
    zs = {}
    logged = t.assign(**{name: np.log1p(t[name]) for name in LOG_SCALE})
    for name in INDICATORS:
        zs[name] = np.clip(np.nan_to_num(peer_z(logged, name, ["peer_type", "region"], min_peers=min_peers,
                                         min_scale=MIN_SCALE[name])), -cap, cap)
    z = pd.DataFrame(zs)
    names = list(INDICATORS)
    unclipped = -(tail_log10(z.to_numpy(), df=tail_df) + np.log10(len(t) * len(names)))
    top = np.sort(unclipped, axis=1)[:, ::-1]
    score = np.array([combine([a, b] if b > 0 else [a]) if a > 0 else a for a, b in top[:, :2]])
    best = unclipped.argmax(axis=1)
    evidence = [
        INDICATORS[names[b]].format(v=float(t.at[i, names[b]]), z=float(z.iat[i, b]))
        for i, b in enumerate(best)
    ]
    out = pd.DataFrame({
        "entity_type": entity_type,
        "entity_id": t["entity_id"].astype(str),
        "score": np.round(score, 6),
        "evidence": evidence,
        "amount_at_risk": np.round(t["amount"] * t["far_tadamon_expensive"].clip(0, 1), 2),
        "top_indicator": [names[b] for b in best],
    })
    return pd.concat([out, z.add_prefix("z_")], axis=1)


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
    """

    name = "indicators"

    def __init__(
        self,
        min_lines: int = default("indicators.min_lines"),
        min_peers: int = default("indicators.min_peers"),
        cap: float = default("indicators.cap"),
    ):
        self.min_lines = min_lines
        self.min_peers = min_peers
        self.cap = cap

    def _run(self, context: DetectionContext) -> tuple[pd.DataFrame | None, None, dict[str, Any]]:
        frames = []
        for by, etype in (("provider_id", "PROVIDER"), ("doctor_id", "DOCTOR")):
            table = control_indicators(context.lines, by=by)
            frames.append(score_indicators(table, entity_type=etype, min_lines=self.min_lines,
                                           min_peers=self.min_peers, cap=self.cap,
                                           tail_df=context.config.get("calibration.tail_df")))
        scores = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
        n = 0 if scores is None else len(scores)
        return scores, None, {"scored": n}
