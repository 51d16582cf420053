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
4. a provider's **share of acts in the peers' top tail** (above the ``tail_quantile`` of the
   peers' units of the key or code: the share of highest-level codes controllers read
   upcoding from) against the peers' share, a beta-binomial tail whose dispersion is the
   peers' spread beyond sampling (binomial when there is none), read as a normal z: an
   upcoder inflating part of its acts moves them into the tail while the rest, its
   ordinary case mix, drags a mean back;
5. per facet (coefficients, stay lengths), a provider's most surprising key or code and
   test, corrected for the keys or codes and tests it was compared on (Bonferroni: an
   upcoder inflates its surgery, not its lab tests, and averaging would dilute it); the
   facets are combined by the better of Fisher's method (both shifted: longer stays with
   heavier operations) and the most surprising facet (a coefficient-only upcoder's stays
   are ordinary, and Fisher would average its evidence with their nothing), corrected
   for trying both;
6. the result is a surprise (:mod:`detectors.calibration`) corrected for the providers
   compared, not clipped at zero, so the ranking of the unremarkable goes on below it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from detectors.base import DetectionContext, Detector, peer_z, robust_spread
from detectors.calibration import tail_log10
from detectors.config import default
from detectors.findings import Rows

__all__ = ["coefficient_table", "stay_table", "provider_upcoding", "CoefficientDetector"]

_CODE = r"^([A-Z]{1,3})(\d{1,4})$"
#: smallest between-provider spread of a mean normal score (the funnel's ``tau``)
_MIN_TAU = 0.02
_TABLE = ["provider_id", "provider_type", "key", "test", "n_lines", "value", "peer_value", "score", "amount", "z",
          "n_high", "threshold", "peer_share", "tail_log10_p"]
_FACET = ["key", "test", "n_lines", "value", "peer_value", "z", "n_high", "threshold", "peer_share", "n_keys",
          "log10_p", "amount"]


def coefficient_table(lines: pd.DataFrame, *, min_lines: int = 10, min_peers: int = 5,
                      tail_quantile: float = 0.9) -> pd.DataFrame:
    """Each (provider, letter key): its dossiers' main acts against those of providers of the same type.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines`` (claim_id, provider_id, provider_type, act_code, amount_claimed).
    min_lines : int
        Fewest dossiers with an act of the key for a provider to be compared.
    min_peers : int
        Fewest providers of the type compared on the key (the provider included).
    tail_quantile : float
        Quantile of the peers' main acts of the key above which an act is in their top tail.

    Returns
    -------
    DataFrame
        Two rows per compared (provider, key), ``test`` ``mean`` and ``tail``: provider_id,
        provider_type, key, n_lines (dossiers), value (geometric mean of its main acts' coefficients),
        peer_value (the same over every main act of the key at its type), score (mean normal score),
        amount (claimed on its acts of the key), z (``mean``: funnel z of the mean normal score;
        ``tail``: the normal z of ``tail_log10_p``, the beta-binomial tail probability of its
        ``n_high`` acts above ``threshold`` against the peers' share ``peer_share``); best first.
    """
    parts = _code_parts(lines["act_code"])
    # Stay codes (PJ1...) are days, compared by stay_table; their "coefficient" is the code's number.
    ok = parts[1].notna().to_numpy() & (lines["act_family"] != "HOSPITAL_STAY").to_numpy()
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
    t = _against_peers(acts.drop(columns="claim_id"), min_lines=min_lines, min_peers=min_peers,
                       tail_quantile=tail_quantile)
    return t.assign(value=np.exp(t["value"]), peer_value=np.exp(t["peer_value"]), threshold=np.exp(t["threshold"]))


def stay_table(lines: pd.DataFrame, *, min_lines: int = 10, min_peers: int = 5,
               tail_quantile: float = 0.9) -> pd.DataFrame:
    """Each (provider, stay code): the units (days) of its stay lines against the same code's at its type.

    Parameters
    ----------
    lines : DataFrame
        ``DetectionContext.lines`` (provider_id, provider_type, act_family, act_code, quantity,
        amount_claimed).
    min_lines, min_peers : int
        As :func:`coefficient_table`, in stay lines.
    tail_quantile : float
        As :func:`coefficient_table`, of the days of the code's stay lines.

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
    return _against_peers(units, min_lines=min_lines, min_peers=min_peers, tail_quantile=tail_quantile)


def provider_upcoding(coefficients: pd.DataFrame, stays: pd.DataFrame, *, tail_df: float) -> pd.DataFrame:
    """One row per provider: its most surprising key and test per facet, and the facets combined.

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
        ``stay_``): key, test, n_lines, value, peer_value, z, n_high, threshold, peer_share, n_keys
        (keys x tests compared), log10_p (NaN where the facet was not compared); amount (every key);
        best first.
    """
    facets = []
    for prefix, table in (("coef_", coefficients), ("stay_", stays)):
        if table.empty:
            continue
        g = table.groupby("provider_id", sort=True)
        # A mean's funnel z is read from the calibration's tail; a count's tail probability is exact already.
        exact = table["tail_log10_p"].to_numpy(float)
        table = table.assign(row_p=np.where(np.isfinite(exact), exact, tail_log10(table["z"].to_numpy(float),
                                                                                   df=tail_df)))
        top = (table.sort_values(["row_p", "key", "test"], kind="mergesort")
               .drop_duplicates("provider_id").set_index("provider_id").sort_index())
        top["n_keys"] = g.size()
        top["log10_p"] = np.minimum(top["row_p"] + np.log10(top["n_keys"]), 0.0)
        top["amount"] = g["amount"].sum() / 2.0  # each key's amount is on its two test rows
        facets.append(top[["provider_type"] + _FACET].rename(columns={c: prefix + c for c in _FACET}))
    columns = ["provider_id", "provider_type", "log10_p", "amount"]
    if not facets:
        return pd.DataFrame(columns=columns)
    out = facets[0] if len(facets) == 1 else facets[0].combine_first(facets[1])
    for prefix in ("coef_", "stay_"):
        for c in _FACET:
            if prefix + c not in out:
                out[prefix + c] = np.nan
    logs = out[["coef_log10_p", "stay_log10_p"]].to_numpy(float)
    k = np.isfinite(logs).sum(axis=1)
    # Fisher: -2 sum ln p ~ chi2(2k) over the facets compared; the most surprising facet, x the facets
    # (Bonferroni); the better of the two, x 2. One facet alone is kept as it is.
    fisher = stats.chi2.logsf(-2.0 * np.log(10.0) * np.nansum(logs, axis=1), 2 * np.maximum(k, 1)) / np.log(10.0)
    best = np.nanmin(np.where(np.isfinite(logs), logs, 0.0), axis=1)
    both = np.minimum(np.minimum(fisher, best + np.log10(np.maximum(k, 1))) + np.log10(2.0), 0.0)
    out["log10_p"] = np.where(k > 1, both, best)
    out["amount"] = out[["coef_amount", "stay_amount"]].sum(axis=1, min_count=1).fillna(0.0)
    out = out.reset_index().rename(columns={"index": "provider_id"})
    return out.sort_values(["log10_p", "provider_id"], kind="mergesort").reset_index(drop=True)


def _against_peers(units: pd.DataFrame, *, min_lines: int, min_peers: int, tail_quantile: float) -> pd.DataFrame:
    """Each (provider, key)'s units against its type's units of the key: mean normal score and top-tail share."""
    keys = ["provider_type", "key"]
    peers = units.groupby(keys, sort=False)["value"]
    threshold = peers.quantile(tail_quantile, interpolation="lower").rename("threshold")
    units = units.join(threshold, on=keys)
    units = units.assign(normal=stats.norm.ppf(peers.rank(method="average") / (peers.transform("size") + 1.0)),
                         peer_value=peers.transform("mean"),
                         high=(units["value"] > units["threshold"]).to_numpy(float))
    by_key = units.groupby(keys, sort=False)
    units["spread"] = by_key["normal"].transform("var").fillna(0.0)
    units["peer_share"] = by_key["high"].transform("mean")
    g = units.groupby(["provider_id", "provider_type", "key"], sort=True)
    t = pd.DataFrame({"n_lines": g.size(), "score": g["normal"].mean(), "value": g["value"].mean(),
                      "peer_value": g["peer_value"].first(), "spread": g["spread"].first(),
                      "amount": g["amount"].sum(), "n_high": g["high"].sum(), "threshold": g["threshold"].first(),
                      "peer_share": g["peer_share"].first()}).reset_index()
    t = t[t["n_lines"] >= min_lines].reset_index(drop=True)
    t = t[t.groupby(keys)["provider_id"].transform("size") >= min_peers].reset_index(drop=True)
    if t.empty:
        return pd.DataFrame(columns=_TABLE)
    # Under "its acts are its peers'", a mean of n normal scores varies by the scores' variance over n.
    t["sampling"] = t["spread"] / t["n_lines"].astype(float)
    t["group"] = t["provider_type"] + "|" + t["key"]
    mean = t.assign(test="mean", z=peer_z(t, "score", ["group"], min_peers=min_peers, min_scale=_MIN_TAU,
                                          variance="sampling"), tail_log10_p=np.nan)
    log10_p = _tail_log10_p(t)
    tail = t.assign(test="tail", z=stats.norm.isf(10.0 ** log10_p), tail_log10_p=log10_p)
    both = pd.concat([mean, tail], ignore_index=True)
    return both.sort_values(["z", "provider_id", "key", "test"], ascending=[False, True, True, True])[_TABLE] \
        .reset_index(drop=True)


def _tail_log10_p(t: pd.DataFrame) -> np.ndarray:
    """log10 tail probability of each row's ``n_high`` of ``n_lines`` units in the top tail, against its group's share.

    The count's tail is beta-binomial with mean ``peer_share`` and the between-provider spread the
    group's shares show beyond binomial sampling (funnel-plot ``tau``: robust spread squared minus the
    median sampling variance; binomial when none); mid-p (half the observed count's probability), so
    that a discrete test is not read as more ordinary than it is.
    """
    n = t["n_lines"].to_numpy(float)
    k = t["n_high"].to_numpy(float)
    p0 = np.clip(t["peer_share"].to_numpy(float), 1e-6, 1 - 1e-6)
    share, sampling = k / n, p0 * (1.0 - p0) / n
    rho = np.zeros(len(t))
    for idx in t.groupby("group", sort=False).indices.values():
        spread = robust_spread(share[idx])[1]
        tau2 = max(spread ** 2 - float(np.median(sampling[idx])), 0.0)
        rho[idx] = min(tau2 / (p0[idx][0] * (1.0 - p0[idx][0])), 0.5)
    w = np.where(rho > 0, 1.0 / np.maximum(rho, 1e-12) - 1.0, np.inf)
    dispersed = rho > 0
    p = np.empty(len(t))
    p[~dispersed] = (stats.binom.sf(k[~dispersed], n[~dispersed], p0[~dispersed])
                     + 0.5 * stats.binom.pmf(k[~dispersed], n[~dispersed], p0[~dispersed]))
    a, b = p0[dispersed] * w[dispersed], (1.0 - p0[dispersed]) * w[dispersed]
    p[dispersed] = (stats.betabinom.sf(k[dispersed], n[dispersed], a, b)
                    + 0.5 * stats.betabinom.pmf(k[dispersed], n[dispersed], a, b))
    return np.log10(np.clip(p, 1e-300, 1.0))


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
    others = f"other {r.provider_type.lower()}s"
    if np.isfinite(r.coef_z) and r.coef_test == "tail":
        said.append(f"{int(r.coef_n_high)} of the main {r.coef_key} acts of its {int(r.coef_n_lines)} dossiers have a "
                    f"coefficient above {r.coef_threshold:.0f}, where {r.coef_peer_share:.0%} of {others}' do "
                    f"(z={r.coef_z:.1f})")
    elif np.isfinite(r.coef_z):
        said.append(f"the main {r.coef_key} act of its {int(r.coef_n_lines)} dossiers averages coefficient "
                    f"{r.coef_value:.0f} against {r.coef_peer_value:.0f} at {others} (z={r.coef_z:.1f} over its acts)")
    if np.isfinite(r.stay_z) and r.stay_test == "tail":
        said.append(f"{int(r.stay_n_high)} of its {int(r.stay_n_lines)} {r.stay_key} stay lines last more than "
                    f"{r.stay_threshold:.0f} days, where {r.stay_peer_share:.0%} of {others}' do (z={r.stay_z:.1f})")
    elif np.isfinite(r.stay_z):
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
    tail_quantile : float
        Quantile of the peers' acts of a key or code above which an act is in their top tail.
    """

    name = "coefficients"

    def __init__(
        self,
        min_lines: int = default("coefficients.min_lines"),
        min_peers: int = default("coefficients.min_peers"),
        tail_quantile: float = default("coefficients.tail_quantile"),
    ):
        self.min_lines = min_lines
        self.min_peers = min_peers
        self.tail_quantile = tail_quantile

    def _run(self, context: DetectionContext) -> tuple[Rows, None, dict[str, Any]]:
        lines = context.lines
        sizes = {"min_lines": self.min_lines, "min_peers": self.min_peers, "tail_quantile": self.tail_quantile}
        t = provider_upcoding(coefficient_table(lines, **sizes), stay_table(lines, **sizes),
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
