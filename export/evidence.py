"""The numbers behind a ring: its claims, its providers against their peers, its timeline.

Plain functions over claims DataFrames (the claims contract), no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.base import line_flags
from detectors.config import DetectionConfig
from detectors.rings import at_risk_mask
from ingest.schema import ENTITY_COLUMNS

__all__ = ["ring_claims", "provider_indicators", "timeline", "INDICATORS"]

#: Indicator column -> plain label (English / French), in report order.
INDICATORS: dict[str, str] = {
    "visits_per_beneficiary": "visits per beneficiary / visites par bénéficiaire",
    "share_tadamon": "share of Tadamon patients / part de patients Tadamon",
    "share_surgery": "share of amount in surgery / part du montant en chirurgie",
    "amount_per_patient": "amount per patient (MAD) / montant par patient (MAD)",
}

_PROVIDER_SIDE = {t: ENTITY_COLUMNS[t] for t in ("PROVIDER", "DOCTOR")}
_PATIENT_SIDE = {t: ENTITY_COLUMNS[t] for t in ("BENEFICIARY", "PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT")}


def ring_claims(claims: pd.DataFrame, members: pd.DataFrame, *, at_risk: bool = True,
                config: DetectionConfig | None = None) -> pd.DataFrame:
    """The claim lines behind a ring.

    A line ties the ring together when it was billed by a member provider or
    doctor (``provider_id`` or ``doctor_id``) for a member patient (``beneficiary_id``,
    or a member phone, payee account, referrer or submission point on the
    dossier); a ring with members on only one side keeps every line of that side.
    With ``at_risk``, the lines that make the ring's amount at risk
    (:func:`detectors.rings.at_risk_mask`) are added too, and flagged in an
    ``at_risk`` column, so their claimed amounts add up to the ring's amount at risk.

    Parameters
    ----------
    claims : DataFrame
        Claims-contract lines. With ``at_risk``, the run's whole claims window:
        whether a line is suspicious depends on the window.
    members : DataFrame
        The ring's members.csv rows.
    at_risk : bool
        Add and flag the lines at risk.
    config : DetectionConfig, optional
        The run's recorded detection configuration (its line flags decide what is suspicious).

    Returns
    -------
    DataFrame
        Matching lines, sorted by service_date, claim_id, line_no.
    """
    def side(mapping: dict[str, str]) -> pd.Series | None:
        mask = None
        for entity_type, column in mapping.items():
            ids = set(members.loc[members["entity_type"] == entity_type, "entity_id"].astype(str))
            if ids and column in claims.columns:
                hit = claims[column].isin(ids).fillna(False).astype(bool)
                mask = hit if mask is None else (mask | hit)
        return mask

    provider_mask, patient_mask = side(_PROVIDER_SIDE), side(_PATIENT_SIDE)
    if provider_mask is not None and patient_mask is not None:
        mask = provider_mask & patient_mask
    elif provider_mask is not None or patient_mask is not None:
        mask = provider_mask if provider_mask is not None else patient_mask
    else:
        mask = pd.Series(False, index=claims.index)
    keep = mask.to_numpy(bool)
    if at_risk:
        risky = at_risk_mask(line_flags(claims, config=config), members) if len(claims) else np.zeros(0, dtype=bool)
        keep = keep | risky
        out = claims[keep].assign(at_risk=risky[keep])
    else:
        out = claims[keep]
    return out.sort_values(["service_date", "claim_id", "line_no"], kind="mergesort").reset_index(drop=True)


def provider_indicators(claims: pd.DataFrame, provider_ids: list[str]) -> pd.DataFrame:
    """Control indicators of some providers against the median of their peers.

    Peers are the other providers of the same ``provider_type`` and
    ``provider_region`` in ``claims`` (the whole window, not just the ring).

    Parameters
    ----------
    claims : DataFrame
        Claims-contract lines.
    provider_ids : list of str
        Providers to report on; ids absent from ``claims.provider_id`` are skipped.

    Returns
    -------
    DataFrame
        One row per provider and indicator: provider_id, provider_type, region,
        indicator (a key of :data:`INDICATORS`), value, peer_median, ratio, n_peers.
    """
    columns = ["provider_id", "provider_type", "region", "indicator", "value", "peer_median", "ratio", "n_peers"]
    if claims.empty:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame({
        "provider_id": claims["provider_id"].astype(str),
        "provider_type": claims["provider_type"].astype(str),
        "region": claims["provider_region"].astype("string").fillna("").astype(str),
        "claim_id": claims["claim_id"].astype(str),
        "beneficiary_id": claims["beneficiary_id"].astype(str),
        "tadamon_bene": claims["beneficiary_id"].astype(str).where(claims["regime"].eq("TADAMON").fillna(False)),
        "amount": claims["amount_claimed"].astype(float),
        "surgery_amount": claims["amount_claimed"].astype(float).where(
            claims["act_family"].eq("SURGERY").fillna(False), 0.0),
    })
    per = frame.groupby(["provider_id", "provider_type", "region"], sort=True).agg(
        n_claims=("claim_id", "nunique"), n_benes=("beneficiary_id", "nunique"),
        n_tadamon=("tadamon_bene", "nunique"), amount=("amount", "sum"), surgery=("surgery_amount", "sum"),
    ).reset_index()
    per["visits_per_beneficiary"] = per["n_claims"] / per["n_benes"]
    per["share_tadamon"] = per["n_tadamon"] / per["n_benes"]
    per["share_surgery"] = (per["surgery"] / per["amount"]).where(per["amount"] > 0, 0.0)
    per["amount_per_patient"] = per["amount"] / per["n_benes"]
    rows = []
    for provider_id in sorted(set(map(str, provider_ids))):
        mine = per[per["provider_id"] == provider_id]
        for _, row in mine.iterrows():
            peers = per[(per["provider_type"] == row["provider_type"]) & (per["region"] == row["region"])
                        & (per["provider_id"] != provider_id)]
            for indicator in INDICATORS:
                median = float(peers[indicator].median()) if len(peers) else float("nan")
                value = float(row[indicator])
                rows.append({
                    "provider_id": provider_id, "provider_type": row["provider_type"], "region": row["region"],
                    "indicator": indicator, "value": value, "peer_median": median,
                    "ratio": value / median if len(peers) and median else float("nan"), "n_peers": len(peers),
                })
    return pd.DataFrame(rows, columns=columns)


def timeline(lines: pd.DataFrame) -> pd.DataFrame:
    """Claims and amount per service day.

    Returns
    -------
    DataFrame
        date (YYYY-MM-DD), n_claims (distinct dossiers), n_lines, amount; by date.
    """
    if lines.empty:
        return pd.DataFrame(columns=["date", "n_claims", "n_lines", "amount"])
    days = pd.to_datetime(lines["service_date"]).dt.strftime("%Y-%m-%d")
    out = lines.assign(date=days).groupby("date", sort=True).agg(
        n_claims=("claim_id", "nunique"), n_lines=("claim_id", "size"), amount=("amount_claimed", "sum"),
    ).reset_index()
    out["amount"] = out["amount"].round(2)
    return out
