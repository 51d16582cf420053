"""The numbers behind a ring: its claims, its providers against their peers, its timeline.

Plain functions over claims DataFrames (the claims contract), no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from casework.ringlines import ring_lines, tie_mask
from detectors.base import line_flags
from detectors.config import DetectionConfig
from detectors.indicators import INDICATORS, LOG_SCALE, compare_with_peers, control_indicators, min_scales

__all__ = ["ring_claims", "provider_indicators", "peer_fallback", "main_provider_peers", "timeline",
           "INDICATOR_LABELS"]

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
        peer_median, z, n_peers: the detector's own comparison, then, for a member the
        detector did not score (too few lines), compared with every provider or with no
        peer, rows against the national peers of its type (:func:`peer_fallback`) whose
        ``peer_group`` says so; only a member with no line in the window is absent.
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
        table = control_indicators(lines, by=by, size_band_base=params["size_band_base"])
        compared = compare_with_peers(table, min_lines=params["min_lines"], min_peers=params["min_peers"],
                                      cap=params["cap"], min_scale=min_scales(params))
        again = peer_fallback(table, compared, wanted[entity_type], min_lines=params["min_lines"])
        kept = compared[compared["entity_id"].isin(wanted[entity_type])]
        parts.append(pd.concat([kept, again], ignore_index=True).assign(entity_type=entity_type))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return out[columns].reset_index(drop=True)


def peer_fallback(table: pd.DataFrame, compared: pd.DataFrame, wanted: set[str], *, min_lines: int) -> pd.DataFrame:
    """Rows for the members the detector's peer comparison leaves empty, against national peers of their type.

    A member is compared again when the detector did not score it (fewer than
    ``min_lines`` lines), compared it with everyone rather than its own type, or with
    a group of itself alone: its values beside the median of every other entity of its
    type with ``min_lines`` lines or more, in every region; z is not given (the
    detector did not score it so), and ``peer_group`` says why the fallback was used.

    Parameters
    ----------
    table : DataFrame
        :func:`detectors.indicators.control_indicators` of the run's lines.
    compared : DataFrame
        :func:`detectors.indicators.compare_with_peers` of ``table``.
    wanted : set of str
        The ring's members of this kind.
    min_lines : int
        The detector's ``min_lines``.

    Returns
    -------
    DataFrame
        Rows as :func:`detectors.indicators.compare_with_peers` gives them, for the members needing them.
    """
    columns = ["entity_id", "peer_type", "region", "indicator", "value", "peer_group", "n_peers", "peer_median", "z"]
    groups = compared.groupby("entity_id").agg(group=("peer_group", "first"), n_peers=("n_peers", "min"))
    rows = []
    for eid in sorted(wanted):
        own = table[table["entity_id"] == eid]
        if own.empty:
            continue
        if eid not in groups.index:
            n = int(own["n_lines"].iloc[0])
            reason = f"{n} line{'s' if n != 1 else ''}, too few for the detector to score it"
        elif groups.loc[eid, "group"] == "everyone":
            reason = "the detector compared it with every provider"
        elif groups.loc[eid, "n_peers"] <= 1:
            reason = "no peer in its own group"
        else:
            continue
        ptype = own["peer_type"].iloc[0]
        peers = table[(table["peer_type"] == ptype) & (table["entity_id"] != eid) & (table["n_lines"] >= min_lines)]
        label = (f"{ptype}, national peers (fallback: {reason})" if len(peers)
                 else f"{ptype}: no other {str(ptype).lower()} with {min_lines}+ lines in the window ({reason})")
        for name in INDICATORS:
            on_scale = np.log1p(peers[name].astype(float)) if name in LOG_SCALE else peers[name].astype(float)
            median = float(on_scale.median()) if len(peers) else np.nan
            rows.append({"entity_id": eid, "peer_type": ptype, "region": own["region"].iloc[0], "indicator": name,
                         "value": float(own[name].iloc[0]), "peer_group": label, "n_peers": len(peers) + 1,
                         "peer_median": float(np.expm1(median)) if name in LOG_SCALE else median, "z": np.nan})
    return pd.DataFrame(rows, columns=columns)


_SINGULARS = {"IMAGING": "imaging centre"}
_PLURALS = {"PHARMACY": "pharmacies", "IMAGING": "imaging centres"}


def main_provider_peers(lines: pd.DataFrame, members: pd.DataFrame, indicators: pd.DataFrame) -> str:
    """One sentence: whom the ring's main provider (most claimed in its lines) is compared with.

    Parameters
    ----------
    lines : DataFrame
        The ring's claim lines.
    members : DataFrame
        The ring's members.
    indicators : DataFrame
        :func:`provider_indicators` of the ring.
    """
    providers = set(members.loc[members["entity_type"] == "PROVIDER", "entity_id"].astype(str))
    own = lines[lines["provider_id"].astype(str).isin(providers)] if len(lines) else lines
    if own.empty:
        return "The ring has no provider with lines in the window: no peer comparison."
    amounts = own.groupby(own["provider_id"].astype(str))["amount_claimed"].sum()
    main = str(amounts.idxmax())
    ptype = str(own.loc[own["provider_id"].astype(str) == main, "provider_type"].iloc[0])
    plural = _PLURALS.get(ptype, ptype.lower() + "s")
    ptype = _SINGULARS.get(ptype, ptype.lower())
    rows = indicators[(indicators["entity_type"] == "PROVIDER") & (indicators["entity_id"].astype(str) == main)]
    if rows.empty:
        return f"The ring's main {ptype} has no indicator in the window: no peer comparison."
    # A fallback comparison (same type, nationally) comes after the detector's own and is the one to name.
    others = int(rows["n_peers"].iloc[-1]) - 1
    group = str(rows["peer_group"].iloc[-1])
    if others < 1:
        return f"The ring's main {ptype} ({amounts.max():,.0f} MAD in the ring's lines) has no peer: {group}."
    return (f"The ring's main {ptype} ({amounts.max():,.0f} MAD in the ring's lines) is compared with "
            f"{others:,} other {ptype if others == 1 else plural}: {group}.")


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
