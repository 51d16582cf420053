"""Which claim lines a ring shows, and which of them make its amount at risk: the one rule.

A ring's lines are the union of two sets, each line flagged ``at_risk``:

- the lines that *tie* the ring together: billed by a member provider or doctor
  (``provider_id`` or ``doctor_id``) for a member patient (``beneficiary_id``, or a
  member phone, payee account, referrer or submission point on the dossier); a
  ring with members on one side only keeps every line of that side;
- the lines *at risk* (:func:`detectors.rings.at_risk_mask`, over
  :func:`detectors.base.line_flags` of the run's whole window): the ones whose
  claimed amounts add up to the ring's amount at risk.

The ring page's header, timeline and claim lines, the evidence bundle's
``claims.csv`` and the report all read this rule, so their numbers add up.
:class:`WindowLines` applies it to many rings over one window without reading the
window once per ring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.base import line_flags
from detectors.config import DetectionConfig
from detectors.rings import at_risk_mask
from ingest.schema import ENTITY_COLUMNS

__all__ = ["tie_mask", "ring_lines", "WindowLines", "PROVIDER_SIDE", "PATIENT_SIDE"]

#: Member entity type -> claims column, on the practitioners' side and on the patients' side.
PROVIDER_SIDE = {t: ENTITY_COLUMNS[t] for t in ("PROVIDER", "DOCTOR")}
PATIENT_SIDE = {t: ENTITY_COLUMNS[t] for t in ("BENEFICIARY", "PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT")}
_SORT = ["service_date", "claim_id", "line_no"]
_RISK_COLUMNS = ["provider_id", "doctor_id", "beneficiary_id", "suspicious"]


def tie_mask(claims: pd.DataFrame, members: pd.DataFrame) -> np.ndarray:
    """Which lines tie the ring's members together (see the module docstring).

    Parameters
    ----------
    claims : DataFrame
        Claims-contract lines.
    members : DataFrame
        The ring's members (entity_type, entity_id).

    Returns
    -------
    ndarray of bool
        Aligned with the rows of ``claims``.
    """
    return _tie(claims, _member_ids(members))


def ring_lines(claims: pd.DataFrame, members: pd.DataFrame, *, flags: pd.DataFrame | None = None,
               config: DetectionConfig | None = None) -> pd.DataFrame:
    """The ring's lines (tying it or at risk), flagged ``at_risk``, by service_date, claim_id, line_no.

    Parameters
    ----------
    claims : DataFrame
        The run's whole claims window: whether a line is suspicious depends on it.
    members : DataFrame
        The ring's members (entity_type, entity_id).
    flags : DataFrame, optional
        :func:`detectors.base.line_flags` of ``claims`` when already computed (row for row).
    config : DetectionConfig, optional
        The run's recorded detection configuration (its line flags decide what is suspicious).

    Returns
    -------
    DataFrame
        The matching rows of ``claims`` and an ``at_risk`` column; the claimed
        amounts of the ``at_risk`` rows add up to the ring's amount at risk.
    """
    claims = claims.reset_index(drop=True)
    if not len(claims):
        return claims.assign(at_risk=pd.Series(dtype=bool))
    flags = line_flags(claims, config=config) if flags is None else flags
    risky = at_risk_mask(flags, members)
    keep = tie_mask(claims, members) | risky
    out = claims[keep].assign(at_risk=risky[keep])
    return out.sort_values(_SORT, kind="mergesort").reset_index(drop=True)


class WindowLines:
    """The rule of :func:`ring_lines` for many rings over one claims window.

    The window's line flags are computed once; each ring then reads only the lines
    of its own members (found through one index of every ring's entities), so a
    national window with hundreds of rings is read a handful of times, not once per ring.

    Parameters
    ----------
    claims : DataFrame
        The run's whole claims window.
    members : DataFrame
        Every ring's members (ring_id, entity_type, entity_id).
    config : DetectionConfig, optional
        The run's recorded detection configuration.
    """

    def __init__(self, claims: pd.DataFrame, members: pd.DataFrame, *, config: DetectionConfig | None = None):
        claims = claims.reset_index(drop=True)
        flags = line_flags(claims, config=config) if len(claims) else None
        # Only lines touching some ring's entity can be any ring's: keep those once.
        touched = np.zeros(len(claims), dtype=bool)
        for entity_type, column in {**PROVIDER_SIDE, **PATIENT_SIDE}.items():
            ids = self._ids(members, entity_type)
            if ids and column in claims.columns:
                touched |= claims[column].isin(ids).fillna(False).to_numpy(bool)
        rows = np.flatnonzero(touched)
        self.claims = claims.iloc[rows].reset_index(drop=True)
        self.flags = (flags[_RISK_COLUMNS].iloc[rows].reset_index(drop=True) if flags is not None
                      else pd.DataFrame(columns=_RISK_COLUMNS))
        # Entity id -> positions in self.claims, per column, for the rings' entities only.
        self._rows: dict[str, dict[str, np.ndarray]] = {}
        for entity_type, column in {**PROVIDER_SIDE, **PATIENT_SIDE}.items():
            if column not in self.claims.columns:
                continue
            values = self.claims[column]
            hit = np.flatnonzero(values.isin(self._ids(members, entity_type)).fillna(False).to_numpy(bool))
            keys = values.iloc[hit].astype(str).to_numpy(object)
            groups = pd.Series(keys).groupby(keys, sort=False).indices if len(hit) else {}
            self._rows[column] = {str(k): hit[v] for k, v in groups.items()}

    @staticmethod
    def _ids(members: pd.DataFrame, entity_type: str) -> set[str]:
        return set(members.loc[members["entity_type"] == entity_type, "entity_id"].astype(str))

    def ring(self, members: pd.DataFrame) -> pd.DataFrame:
        """One ring's lines, as :func:`ring_lines` gives them over the whole window.

        Parameters
        ----------
        members : DataFrame
            The ring's members (entity_type, entity_id).
        """
        ids = _member_ids(members)
        parts = []
        for entity_type, column in {**PROVIDER_SIDE, **PATIENT_SIDE}.items():
            index = self._rows.get(column, {})
            parts += [index[i] for i in ids.get(entity_type, ()) if i in index]
        rows = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        claims = self.claims.iloc[rows]
        risky = at_risk_mask(self.flags.iloc[rows], members) if len(rows) else np.zeros(0, dtype=bool)
        keep = _tie(claims, ids) | risky
        out = claims[keep].assign(at_risk=risky[keep])
        return out.sort_values(_SORT, kind="mergesort").reset_index(drop=True)


def _member_ids(members: pd.DataFrame) -> dict[str, set[str]]:
    """Entity type -> the members' ids of that type (as str), in one pass over the members."""
    ids: dict[str, set[str]] = {}
    for entity_type, entity_id in zip(members["entity_type"], members["entity_id"]):
        ids.setdefault(entity_type, set()).add(str(entity_id))
    return ids


def _tie(claims: pd.DataFrame, ids: dict[str, set[str]]) -> np.ndarray:
    """:func:`tie_mask` with the members' ids by type already gathered."""
    def side(mapping: dict[str, str]) -> np.ndarray | None:
        mask = None
        for entity_type, column in mapping.items():
            if ids.get(entity_type) and column in claims.columns:
                hit = claims[column].isin(ids[entity_type]).fillna(False).to_numpy(bool)
                mask = hit if mask is None else (mask | hit)
        return mask

    practitioners, patients = side(PROVIDER_SIDE), side(PATIENT_SIDE)
    if practitioners is not None and patients is not None:
        return practitioners & patients
    if practitioners is not None or patients is not None:
        return practitioners if practitioners is not None else patients
    return np.zeros(len(claims), dtype=bool)
