"""Upcoding: a provider billing more per act than the peers billing the same acts.

An act code is a letter key and a coefficient (K50: surgery of coefficient 50, B120,
Z30). A clinic that upcodes bills its operations as heavier ones than they were (the
coefficients of its K acts rise) and, often, its stays as longer (more days per stay
line of the same stay code): its volume and its patients do not change, so the control
indicators, per patient or per week, barely move, and the shift (a fifth in the mean
log coefficient) is smaller than what case mix moves a clinic's plain mean by (a clinic
billing an anaesthesia line with most operations has a lower mean than one that does not).

So each act is compared with the same acts of the peers (providers of the same type):

1. the units: for coefficients, a dossier's **main act** of a letter key (its heaviest
   coefficient of that key: the anaesthesia or assistance lines billed with an operation
   follow it; counting them would make the anaesthesia share look like upcoding or hide
   it); for stays, each stay line, its units (days) against the same stay code;
2. each unit gets its **normal score** among the peers' units of the same key or code
   (van der Waerden: ``Phi^-1(rank / (N + 1))``, ties sharing their mean rank), so a
   value is read by where it stands among the peers' acts, whatever the scale's shape;
3. a provider's mean normal score over its ``n`` units is a Stouffer sum: under "its
   acts are its peers'" it wobbles by ``v / n`` (``v`` the variance of the scores, below 1
   when values tie); the peers' spread beyond that (their case mix) is estimated as in a
   funnel plot (:func:`detectors.base.peer_z` with that sampling variance), so a
   consistent small shift over many acts is significant while a clinic's case mix is not;
4. per facet (coefficients, stay lengths), a provider's most surprising key or code,
   corrected for the keys or codes it was compared on (Bonferroni: an upcoder inflates its
   surgery, not its lab tests, and averaging would dilute it); the two facets are
   independent evidence of one fraud and are combined by Fisher's method;
5. the result is a surprise (:mod:`detectors.calibration`) corrected for the providers
   compared, not clipped at zero, so the ranking of the unremarkable goes on below it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from detectors.base import DetectionContext, Detector, peer_z
from detectors.calibration import tail_log10
from detectors.config import default
from detectors.findings import Rows

__all__ = ["coefficient_table", "stay_table", "provider_upcoding", "CoefficientDetector"]

_CODE = r"^([A-Z]{1,3})(\d{1,4})$"
#: smallest between-provider spread of a mean normal score (the funnel's ``tau``)
_MIN_TAU = 0.02
_TABLE = ["provider_id", "provider_type", "key", "n_lines", "value", "peer_value", "score", "amount", "z"]


def coefficient_table(lines: pd.DataFrame, *, min_lines: int = 10, min_peers: int = 5) -> pd.DataFrame:
    """Each (provider, letter key): its dossiers' main acts against those of providers of the same type.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines`` (claim_id, provider_id, provider_type, act_code, amount_claimed).
    min_lines : int
        Fewest dossiers with an act of the key for a provider to be compared.
    min_peers : int
        Fewest providers of the type compared on the key (the provider included).

    Returns
    -------
    DataFrame
        provider_id, provider_type, key, n_lines (dossiers), value (geometric mean of its main acts'
        coefficients), peer_value (the same over every main act of the key at its type), score (mean
        normal score), amount (claimed on its acts of the key), z (funnel z of the mean normal score);
        best first.
    """
    parts = _code_parts(lines["act_code"])
    ok = parts[1].notna().to_numpy()
    if not ok.any():
        return pd.DataFrame(columns=_TABLE)
    df = pd.DataFrame({"provider_id": lines.loc[ok, "provider_id"].astype(str).to_numpy(),
                       "provider_type": lines.loc[ok, "provider_type"].astype(str).to_numpy(),
                       "claim_id": lines.loc[ok, "claim_id"].to_numpy(),
                       "key": parts.loc[ok, 0].to_numpy(),
                       "value": np.log(np.maximum(parts.loc[ok, 1].astype(float).to_numpy(), 1.0)),
                       "amount": lines.loc[ok, "amount_claimed"].to_numpy(float)})
    acts = (df.groupby(["provider_id", "provider_type", "key", "claim_id"], sort=False, observed=True)
            .agg(value=("value", "max"), amount=("amount", "sum")).reset_index())
    t = _against_peers(acts.drop(columns="claim_id"), min_lines=min_lines, min_peers=min_peers)
    return t.assign(value=np.exp(t["value"]), peer_value=np.exp(t["peer_value"]))


def stay_table(lines: pd.DataFrame, *, min_lines: int = 10, min_peers: int = 5) -> pd.DataFrame:
    """Each (provider, stay code): the units (days) of its stay lines against the same code's at its type.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines`` (provider_id, provider_type, act_family, act_code, quantity,
        amount_claimed).
    min_lines, min_peers : int
        As :func:`coefficient_table`, in stay lines.

    Returns
    -------
    DataFrame
        The columns of :func:`coefficient_table`, ``key`` being the stay code and ``value`` the mean
        units per line.
    """
    stays = lines[(lines["act_family"] == "HOSPITAL_STAY").to_numpy() & lines["quantity"].notna().to_numpy()]
    if stays.empty:
        return pd.DataFrame(columns=_TABLE)
    units = pd.DataFrame({"provider_id": stays["provider_id"].astype(str).to_numpy(),
                          "provider_type": stays["provider_type"].astype(str).to_numpy(),
                          "key": stays["act_code"].astype(str).to_numpy(),
                          "value": stays["quantity"].to_numpy(float),
                          "amount": stays["amount_claimed"].to_numpy(float)})
    return _against_peers(units, min_lines=min_lines, min_peers=min_peers)


def provider_upcoding(coefficients: pd.DataFrame, stays: pd.DataFrame, *, tail_df: float) -> pd.DataFrame:
    """One row per provider: its most surprising key per facet, and the facets combined by Fisher's method.

    Parameters
    ----------
    coefficients, stays : DataFrame
        :func:`coefficient_table` and :func:`stay_table`.
    tail_df : float
        Degrees of freedom of the tail a z is read from (:func:`detectors.calibration.tail_log10`).

    Returns
    -------
    DataFrame
        provider_id, provider_type, log10_p (of the combination), and per facet (``coef_``,
        ``stay_``): key, n_lines, value, peer_value, z, n_keys, log10_p (NaN where the facet was not
        compared); amount (every key); best first.
    """
    facets = []
    for prefix, table in (("coef_", coefficients), ("stay_", stays)):
        if table.empty:
            continue
        g = table.groupby("provider_id", sort=True)
        top = (table.sort_values(["z", "key"], ascending=[False, True], kind="mergesort")
               .drop_duplicates("provider_id").set_index("provider_id").sort_index())
        top["n_keys"] = g.size()
        top["log10_p"] = np.minimum(tail_log10(top["z"].to_numpy(float), df=tail_df) + np.log10(top["n_keys"]), 0.0)
        top["amount"] = g["amount"].sum()
        keep = ["key", "n_lines", "value", "peer_value", "z", "n_keys", "log10_p", "amount"]
        facets.append(top[["provider_type"] + keep].rename(columns={c: prefix + c for c in keep}))
    columns = ["provider_id", "provider_type", "log10_p", "amount"]
    if not facets:
        return pd.DataFrame(columns=columns)
    out = facets[0] if len(facets) == 1 else facets[0].combine_first(facets[1])
    for prefix in ("coef_", "stay_"):
        for c in ("key", "n_lines", "value", "peer_value", "z", "n_keys", "log10_p", "amount"):
            if prefix + c not in out:
                out[prefix + c] = np.nan
    logs = out[["coef_log10_p", "stay_log10_p"]].to_numpy(float)
    k = np.isfinite(logs).sum(axis=1)
    # Fisher: -2 sum ln p ~ chi2(2k) over the facets compared; one facet alone is kept as it is.
    fisher = stats.chi2.logsf(-2.0 * np.log(10.0) * np.nansum(logs, axis=1), 2 * np.maximum(k, 1)) / np.log(10.0)
    out["log10_p"] = np.where(k > 1, fisher, np.nanmin(np.where(np.isfinite(logs), logs, 0.0), axis=1))
    out["amount"] = out[["coef_amount", "stay_amount"]].sum(axis=1, min_count=1).fillna(0.0)
    out = out.reset_index().rename(columns={"index": "provider_id"})
    return out.sort_values(["log10_p", "provider_id"], kind="mergesort").reset_index(drop=True)


def _against_peers(units: pd.DataFrame, *, min_lines: int, min_peers: int) -> pd.DataFrame:
    """Mean normal score of each (provider, key)'s units among its type's units of the key, and its funnel z."""
    peers = units.groupby(["provider_type", "key"], sort=False)["value"]
    units = units.assign(normal=stats.norm.ppf(peers.rank(method="average") / (peers.transform("size") + 1.0)),
                         peer_value=peers.transform("mean"))
    units["spread"] = units.groupby(["provider_type", "key"], sort=False)["normal"].transform("var").fillna(0.0)
    g = units.groupby(["provider_id", "provider_type", "key"], sort=True)
    t = pd.DataFrame({"n_lines": g.size(), "score": g["normal"].mean(), "value": g["value"].mean(),
                      "peer_value": g["peer_value"].first(), "spread": g["spread"].first(),
                      "amount": g["amount"].sum()}).reset_index()
    t = t[t["n_lines"] >= min_lines].reset_index(drop=True)
    t = t[t.groupby(["provider_type", "key"])["provider_id"].transform("size") >= min_peers].reset_index(drop=True)
    if t.empty:
        return pd.DataFrame(columns=_TABLE)
    # Under "its acts are its peers'", a mean of n normal scores varies by the scores' variance over n.
    t["sampling"] = t["spread"] / t["n_lines"].astype(float)
    t["group"] = t["provider_type"] + "|" + t["key"]
    t["z"] = peer_z(t, "score", ["group"], min_peers=min_peers, min_scale=_MIN_TAU, variance="sampling")
    return t.sort_values(["z", "provider_id", "key"], ascending=[False, True, True])[_TABLE].reset_index(drop=True)


def _code_parts(codes: pd.Series) -> pd.DataFrame:
    """Letter key and coefficient of each act code (``_CODE``), matched once per distinct code."""
    if not isinstance(codes.dtype, pd.CategoricalDtype):
        return codes.astype(str).str.extract(_CODE)
    per_code = pd.Series(codes.cat.categories.astype(str)).str.extract(_CODE)
    taken = per_code.reindex(codes.cat.codes.to_numpy()).reset_index(drop=True)
    taken.index = codes.index
    return taken


def _evidence(r: Any) -> str:
    """One sentence on what the provider bills more of per act than its peers."""
    said = []
    if np.isfinite(r.coef_z):
        said.append(f"the main {r.coef_key} act of its {int(r.coef_n_lines)} dossiers averages coefficient "
                    f"{r.coef_value:.0f} against {r.coef_peer_value:.0f} at other {r.provider_type.lower()}s "
                    f"(z={r.coef_z:.1f} over its acts)")
    if np.isfinite(r.stay_z):
        said.append(f"its {int(r.stay_n_lines)} {r.stay_key} stay lines average {r.stay_value:.1f} days against "
                    f"{r.stay_peer_value:.1f} (z={r.stay_z:.1f})")
    return "; ".join(said)


class CoefficientDetector(Detector):
    """Providers billing more per act (coefficients, stay days) than peers of their type (the lone upcoder).

    Parameters
    ----------
    min_lines : int
        Fewest dossiers with an act of a letter key (or stay lines of a code) for a provider to be
        compared on it.
    min_peers : int
        Fewest providers of the type compared on the key or code.
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
        lines = context.lines
        t = provider_upcoding(coefficient_table(lines, min_lines=self.min_lines, min_peers=self.min_peers),
                              stay_table(lines, min_lines=self.min_lines, min_peers=self.min_peers),
                              tail_df=context.config.get("calibration.tail_df"))
        if t.empty:
            return [], None, {"compared": 0}
        # Not clipped at zero: below it the providers still rank by how ordinary their billing per act is.
        s = -(t["log10_p"].to_numpy(float) + np.log10(len(t)))
        rows = []
        for r, score in zip(t.itertuples(index=False), s):
            excess = 0.0
            if np.isfinite(r.coef_z) and r.coef_value > 0:
                excess = max(0.0, 1.0 - r.coef_peer_value / r.coef_value) * r.coef_amount
            rows.append(("PROVIDER", r.provider_id, float(score), _evidence(r), round(float(excess), 2)))
        return rows, None, {"compared": len(t)}
