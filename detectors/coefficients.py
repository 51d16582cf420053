"""Upcoding by coefficient inflation: a provider's acts billed at higher coefficients than its peers'.

An act code is a letter key and a coefficient (K50: surgery of coefficient 50, B120,
Z30). A clinic that bills its operations as heavier ones than they were raises the
coefficients of its K acts, not its volume: the control indicators, per patient or
per week, barely move. For each provider and letter key, the mean log coefficient of
its lines is compared with that of the providers of the same type billing the same
key (robust z, :mod:`detectors.calibration`), the spread never below what sampling
alone gives a provider with that many lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from detectors.base import DetectionContext, Detector
from detectors.calibration import surprise
from detectors.config import default
from detectors.findings import Rows

__all__ = ["coefficient_table", "CoefficientDetector"]

_CODE = r"^([A-Z]{1,3})(\d{1,4})$"


def coefficient_table(lines: pd.DataFrame, *, min_lines: int = 10, min_peers: int = 5) -> pd.DataFrame:
    """Mean log coefficient of each (provider, letter key) against its peers of the same provider type.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines``.
    min_lines : int
        Fewest lines of a key for a provider to be compared.
    min_peers : int
        Fewest providers of the type billing the key for a comparison.

    Returns
    -------
    DataFrame
        provider_id, provider_type, key, n_lines, mean_coef (geometric mean), peer_coef
        (median of the peers' geometric means), amount, z; best first.
    """
    cols = ["provider_id", "provider_type", "key", "n_lines", "mean_coef", "peer_coef", "amount", "z"]
    parts = _code_parts(lines["act_code"])
    ok = parts[1].notna().to_numpy()
    if not ok.any():
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame({"provider_id": lines.loc[ok, "provider_id"].astype(str).to_numpy(),
                       "provider_type": lines.loc[ok, "provider_type"].astype(str).to_numpy(),
                       "key": parts.loc[ok, 0].to_numpy(),
                       "log_coef": np.log(np.maximum(parts.loc[ok, 1].astype(float).to_numpy(), 1.0)),
                       "amount": lines.loc[ok, "amount_claimed"].to_numpy(float)})
    g = df.groupby(["provider_id", "provider_type", "key"], sort=True)
    t = pd.DataFrame({"n_lines": g.size(), "mean_log": g["log_coef"].mean(), "var_log": g["log_coef"].var(ddof=0),
                      "amount": g["amount"].sum()}).reset_index()
    t = t[t["n_lines"] >= min_lines].reset_index(drop=True)
    t["z"] = np.nan
    t["peer_log"] = np.nan
    for _, idx in t.groupby(["provider_type", "key"]).groups.items():
        if len(idx) < min_peers:
            continue
        sub = t.loc[idx]
        med = float(np.median(sub["mean_log"]))
        mad = 1.4826 * float(np.median(np.abs(sub["mean_log"] - med)))
        # A provider's mean of n lines wobbles by sd / sqrt(n) on its own: never call that wobble upcoding.
        within = float(np.median(sub["var_log"])) / sub["n_lines"].to_numpy(float)
        scale = np.sqrt(mad ** 2 + within)
        t.loc[idx, "z"] = (sub["mean_log"].to_numpy() - med) / np.maximum(scale, 1e-6)
        t.loc[idx, "peer_log"] = med
    t = t.dropna(subset=["z"])
    t["mean_coef"] = np.exp(t["mean_log"])
    t["peer_coef"] = np.exp(t["peer_log"])
    return t.sort_values(["z", "provider_id", "key"], ascending=[False, True, True])[cols].reset_index(drop=True)


def _code_parts(codes: pd.Series) -> pd.DataFrame:
    """Letter key and coefficient of each act code (``_CODE``), matched once per distinct code."""
    if not isinstance(codes.dtype, pd.CategoricalDtype):
        return codes.astype(str).str.extract(_CODE)
    per_code = pd.Series(codes.cat.categories.astype(str)).str.extract(_CODE)
    taken = per_code.reindex(codes.cat.codes.to_numpy()).reset_index(drop=True)
    taken.index = codes.index
    return taken


class CoefficientDetector(Detector):
    """Providers billing their acts at higher coefficients than peers of their type (the lone upcoder).

    Parameters
    ----------
    min_lines : int
        Fewest lines of a letter key for a provider to be compared.
    min_peers : int
        Fewest providers of the type billing the key.
    """

    name = "coefficients"

    def __init__(
        self,
        min_lines: int = default("coefficients.min_lines"),
        min_peers: int = default("coefficients.min_peers"),
    ):
        self.min_lines = min_lines
        self.min_peers = min_peers

    def _run(self, context: DetectionContext) -> tuple[Rows, None, dict[str, Any]]:
        t = coefficient_table(context.lines, min_lines=self.min_lines, min_peers=self.min_peers)
        if t.empty:
            return [], None, {"compared": 0}
        s = surprise(t["z"].to_numpy(float), n_tested=len(t), df=context.config.get("calibration.tail_df"))
        rows = []
        for r, score in zip(t.itertuples(index=False), s):
            excess = max(0.0, 1.0 - r.peer_coef / r.mean_coef) * r.amount
            ev = (f"its {r.n_lines} {r.key} acts average coefficient {r.mean_coef:.0f} against {r.peer_coef:.0f} "
                  f"for other {r.provider_type.lower()}s (z={r.z:.1f})")
            rows.append(("PROVIDER", r.provider_id, float(score), ev, round(excess, 2)))
        return rows, None, {"compared": len(t)}
