"""The numbers behind a ring: its claims, its providers against their peers, its timeline.

Plain functions over claims DataFrames (the claims contract), no I/O.
"""

from __future__ import annotations

import pandas as pd

from casework.ringlines import ring_lines, tie_mask
from detectors.base import line_flags
from detectors.config import DetectionConfig
from detectors.indicators import compare_with_peers, control_indicators

__all__ = ["ring_claims", "provider_indicators", "timeline", "INDICATOR_LABELS"]

#: The indicator detector's indicators -> plain label (English / French) for the report.
INDICATOR_LABELS: dict[str, str] = {
    "visits_per_beneficiary": "dossiers per patient / dossiers par patient",
    "amount_per_beneficiary": "amount per patient (MAD) / montant par patient (MAD)",
    "quantity_per_stay": "units per stay line / unités par ligne de séjour",
    "revenue_growth": "weekly amount, recent vs before / montant hebdomadaire, récent / avant",
    "expensive_growth": "weekly surgeries and stays, recent vs before / chirurgies et séjours, récent / avant",
    "non_ald_ald_drugs": "ALD drugs for non-ALD patients (share) / médicaments ALD hors ALD (part)",
    "surgery_without_consultation": "surgeries without prior consultation (share) / chirurgies sans consultation (part)",
    "far_tadamon_expensive": "expensive acts, Tadamon from elsewhere (share) / actes chers, Tadamon d'ailleurs (part)",
    "volume": "dossiers billed / dossiers facturés",
}

def ring_claims(claims: pd.DataFrame, members: pd.DataFrame, *, at_risk: bool = True,
                config: DetectionConfig | None = None) -> pd.DataFrame:
    """The claim lines behind a ring, by the one rule of :mod:`casework.ringlines`.

    A line ties the ring together when it was billed by a member provider or
    doctor (``provider_id`` or ``doctor_id``) for a member patient (``beneficiary_id``,
    or a member phone, payee account, referrer or submission point on the
    dossier); a ring with members on only one side keeps every line of that side.
    With ``at_risk``, the lines that make the ring's amount at risk
    (:func:`detectors.rings.at_risk_mask`) are added too, and flagged in an
    ``at_risk`` column, so their claimed amounts add up to the ring's amount at risk:
    the lines and numbers of the ring page (:func:`casework.ringpages.ring_page`).

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
    if at_risk:
        return ring_lines(claims, members, config=config)
    out = claims[tie_mask(claims, members)]
    return out.sort_values(["service_date", "claim_id", "line_no"], kind="mergesort").reset_index(drop=True)


def provider_indicators(claims: pd.DataFrame, members: pd.DataFrame, *,
                        config: DetectionConfig | None = None) -> pd.DataFrame:
    """The control indicators of a ring's providers and doctors, as the indicator detector saw them.

    The same lines (the run's whole claims window, flagged with the run's
    configuration), the same peer groups and the same capped z-scores as
    :class:`detectors.indicators.IndicatorDetector`
    (:func:`detectors.indicators.compare_with_peers`).

    Parameters
    ----------
    claims : DataFrame
        The run's claims window (claims-contract lines).
    members : DataFrame
        The ring's members.csv rows; its PROVIDER and DOCTOR members are reported.
    config : DetectionConfig, optional
        The run's recorded detection configuration (line flags and the detector's
        ``min_lines``, ``min_peers``, ``cap``); the defaults when absent.

    Returns
    -------
    DataFrame
        One row per member and indicator: entity_type, entity_id, peer_group,
        indicator (a key of :data:`detectors.indicators.INDICATORS`), value,
        peer_median, z, n_peers; members the detector did not score (too few lines)
        are absent.
    """
    columns = ["entity_type", "entity_id", "peer_group", "indicator", "value", "peer_median", "z", "n_peers"]
    wanted = {t: set(members.loc[members["entity_type"] == t, "entity_id"].astype(str)) for t in ("PROVIDER", "DOCTOR")}
    if claims.empty or not any(wanted.values()):
        return pd.DataFrame(columns=columns)
    config = config or DetectionConfig()
    params = config.section("indicators")
    lines = line_flags(claims, config=config)
    parts = []
    for entity_type, by in (("PROVIDER", "provider_id"), ("DOCTOR", "doctor_id")):
        if not wanted[entity_type]:
            continue
        compared = compare_with_peers(control_indicators(lines, by=by), min_lines=params["min_lines"],
                                      min_peers=params["min_peers"], cap=params["cap"])
        parts.append(compared[compared["entity_id"].isin(wanted[entity_type])].assign(entity_type=entity_type))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return out[columns].reset_index(drop=True)


def timeline(lines: pd.DataFrame) -> pd.DataFrame:
    """Claims and amount per service day, and the part of it at risk.

    Parameters
    ----------
    lines : DataFrame
        A ring's claim lines (with ``at_risk`` when :func:`ring_claims` flagged them).

    Returns
    -------
    DataFrame
        date (YYYY-MM-DD), n_claims (distinct dossiers), n_lines, amount, and with
        ``at_risk`` n_lines_at_risk and amount_at_risk (adding up to the ring's amount
        at risk); by date.
    """
    risky = "at_risk" in lines.columns
    columns = ["date", "n_claims", "n_lines", "amount", *(["n_lines_at_risk", "amount_at_risk"] if risky else [])]
    if lines.empty:
        return pd.DataFrame(columns=columns)
    days = pd.to_datetime(lines["service_date"]).dt.strftime("%Y-%m-%d")
    flagged = lines["at_risk"].astype(bool) if risky else pd.Series(False, index=lines.index)
    out = lines.assign(date=days, risky_line=flagged.astype(int),
                       risky_amount=lines["amount_claimed"].where(flagged, 0.0)).groupby("date", sort=True).agg(
        n_claims=("claim_id", "nunique"), n_lines=("claim_id", "size"), amount=("amount_claimed", "sum"),
        n_lines_at_risk=("risky_line", "sum"), amount_at_risk=("risky_amount", "sum"),
    ).reset_index()
    out["amount"] = out["amount"].round(2)
    out["amount_at_risk"] = out["amount_at_risk"].round(2)
    return out[columns]
