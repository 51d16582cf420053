"""The detector contract, and the context every detector reads.

A :class:`DetectionContext` is built once per run (claims with a few derived
line flags, the provider projection, the inferred intermediaries) so that the
detectors do not each recompute them. A detector is a class with a ``name``,
its parameters stored unchanged by ``__init__`` (sklearn style) and
``fit(claims, *, context=None) -> Findings``; the work is done by a pure
function on plain data next to it.
"""

from __future__ import annotations

import abc
import inspect
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from detectors.config import DetectionConfig
from detectors.findings import Findings, Rows
from detectors.sharing import prescription_pairs, with_local_lift
from graph.intermediaries import infer_intermediaries
from graph.projections import provider_projection
from ingest.encode import IdCodes, encode_claims

__all__ = [
    "DetectionContext",
    "Detector",
    "build_context",
    "claims_fingerprint",
    "line_flags",
    "robust_z",
    "robust_spread",
    "peer_z",
    "peer_groups",
    "EXPENSIVE_FAMILIES",
]

#: Lines hashed together by :func:`claims_fingerprint`.
_FINGERPRINT_ROWS = 500_000

#: Act families that are expensive by nature.
EXPENSIVE_FAMILIES: tuple[str, ...] = ("SURGERY", "HOSPITAL_STAY")

_LINE_COLUMNS = (
    "claim_id", "beneficiary_id", "household_id", "regime", "birth_year", "beneficiary_region", "ald",
    "provider_id", "provider_type", "provider_region", "doctor_id", "doctor_specialty", "act_code",
    "act_family", "quantity", "stay_days", "service_date", "amount_claimed",
)


@dataclass
class DetectionContext:
    """What every detector may read, computed once per run.

    Attributes
    ----------
    lines : DataFrame
        The claim lines (the columns detectors use) plus boolean flags
        ``tadamon``, ``far`` (patient lives in another region than the
        provider), ``expensive`` (surgery, hospital stay or an amount in the
        top decile of its act family), ``ald_drug`` (a medication mostly given
        to ALD patients), ``ald_care`` (an act mostly given to ALD patients, on an
        ALD patient: expected chronic care, never suspicious), ``non_ald_ald_drug``
        (an ALD drug for a patient known to have no ALD; an unknown flag is not
        "no"), ``suspicious`` and integer ``age``.
    projection : DataFrame
        ``graph.projections.provider_projection`` of the claims.
    suspicious_projection : DataFrame
        The same projection restricted to suspicious lines (Tadamon and
        expensive, or Tadamon and far, or ALD drugs for non-ALD patients).
    intermediaries : object
        ``graph.intermediaries.infer_intermediaries`` of the claims (``.table``,
        ``.links``, ``.members``).
    config : DetectionConfig
        The thresholds the line flags and intermediaries were computed with.
    prescriptions : set of (str, str)
        Provider pairs whose sharing a prescription flow explains
        (:func:`detectors.sharing.prescription_pairs`: an ``IdPairs``, which behaves as that set).
    fingerprint : str
        :func:`claims_fingerprint` of the claims it was built from: ``fit`` refuses
        a context built from other claims.
    codes : IdCodes
        Integer codes of the lines' identifier columns, one sorted lookup table per column,
        each made once per run when a step first groups on it.
    """

    lines: pd.DataFrame
    projection: pd.DataFrame
    suspicious_projection: pd.DataFrame
    intermediaries: Any
    config: DetectionConfig = field(default_factory=DetectionConfig)
    fingerprint: str = ""
    prescriptions: set = field(default_factory=set)
    cache: dict[str, Any] = field(default_factory=dict)
    codes: IdCodes | None = None


def build_context(claims: pd.DataFrame, *, config: DetectionConfig | None = None) -> DetectionContext:
    """Derive the line flags, the projections and the intermediaries of ``claims``.

    Parameters
    ----------
    claims : DataFrame
        Claims per the claims contract.
    config : DetectionConfig, optional
        Thresholds of the line flags (section ``lines``) and of the intermediary
        inference (section ``intermediaries``); the defaults when absent.

    Returns
    -------
    DetectionContext
    """
    config = config or DetectionConfig()
    lines = line_flags(claims, config=config)
    # One sorted numbering of each id column for every step (the lines are the claims' rows, in order).
    codes = IdCodes(lines)
    projection = with_local_lift(provider_projection(claims, codes=codes), lines, codes=codes)
    # Only the two columns the projection reads: whole rows would copy every column of the suspicious lines.
    suspicious = claims.loc[lines["suspicious"].to_numpy(), ["beneficiary_id", "provider_id"]]
    suspicious_projection = provider_projection(suspicious) if len(suspicious) else projection.iloc[0:0]
    intermediaries = infer_intermediaries(claims, **config.section("intermediaries"))
    context = DetectionContext(lines, projection, suspicious_projection, intermediaries, config,
                               claims_fingerprint(claims), prescription_pairs(lines, codes=codes), codes=codes)
    context.cache["claims"] = weakref.ref(claims)
    return context


def claims_fingerprint(claims: pd.DataFrame) -> str:
    """Row count and an order-free hash of the (claim_id, line_no) keys: which claims a context describes.

    Parameters
    ----------
    claims : DataFrame
        Claims with claim_id and line_no.
    """
    keys = [c for c in ("claim_id", "line_no") if c in claims.columns]
    if not keys or claims.empty:
        return f"{len(claims)}:0"
    # Hashed a slice at a time (a sum modulo 2**64 does not depend on how it is split): the hashing's
    # temporaries are a slice's, not the window's (480 MB on a national window).
    keyed = claims[keys]
    total = 0
    for start in range(0, len(claims), _FINGERPRINT_ROWS):
        part = keyed.iloc[start:start + _FINGERPRINT_ROWS]
        total += int(pd.util.hash_pandas_object(part, index=False).to_numpy(np.uint64).sum(dtype=np.uint64))
    return f"{len(claims)}:{total % 2 ** 64:x}"


def line_flags(claims: pd.DataFrame, *, config: DetectionConfig | None = None) -> pd.DataFrame:
    """The claim lines detectors read, with the derived flags of :class:`DetectionContext`.

    Parameters
    ----------
    claims : DataFrame
        Claims per the claims contract.
    config : DetectionConfig, optional
        Its ``lines`` section sets the thresholds of ``expensive`` and ``ald_drug``.
    """
    flags = (config or DetectionConfig()).section("lines")
    cols = [c for c in _LINE_COLUMNS if c in claims.columns]
    lines = encode_claims(claims[cols].reset_index(drop=True))
    lines["tadamon"] = (lines["regime"] == "TADAMON").to_numpy(bool)
    # One int code per patient, computed once: the per-patient steps below group on it, not on the text.
    patient_codes = pd.factorize(lines["beneficiary_id"])[0] if "beneficiary_id" in lines else None
    _fill_regions(lines, patient_codes)
    lines["far"] = _differ(lines["beneficiary_region"], lines["provider_region"])
    q = float(flags["expensive_quantile"])
    top_decile = lines.groupby("act_family")["amount_claimed"].transform(lambda s: s.quantile(q))
    lines["expensive"] = (lines["act_family"].isin(EXPENSIVE_FAMILIES)
                          | ((lines["amount_claimed"] >= top_decile)
                             & (lines["amount_claimed"] > float(flags["expensive_min_amount"])))).to_numpy(bool)
    line_ald = (lines["ald"].astype("boolean") if "ald" in lines
                else pd.Series(pd.NA, index=lines.index, dtype="boolean"))
    # The line's flag says the act is covered as ALD care; the patient's status comes from any line.
    ald_col = _patient_ald(lines, patient_codes)
    ald = ald_col.fillna(False).to_numpy(bool)
    # An unknown ALD flag is unknown, not "no ALD": only a known non-ALD patient can get an ALD drug wrongly.
    ald_known = ald_col.notna().to_numpy(bool)
    lines["ald_patient"] = ald
    # An act is "ALD care" when most of its lines are ALD care: learnt from the data (injectables, dialysis
    # sessions, chemotherapy), so no list has to be maintained. On an ALD patient it is expected care. A line
    # says so by its flag, or, where the flag was left empty, by its patient's status from the other lines:
    # a dialysis centre leaving the optional flag empty on every session treats patients whose GP states it.
    stated = line_ald.notna().to_numpy(bool)
    act_share = _act_share(lines["act_code"], np.where(stated, line_ald.fillna(False).to_numpy(bool), ald),
                           stated | ald_known)
    # ... and markedly more often than among the insured in general: where nearly everyone has an ALD (a data
    # set whose "ALD" is any chronic condition), no act is chronic care by that alone.
    base = _ald_base_rate(patient_codes, ald, ald_known)
    ald_act = (act_share >= float(flags["ald_drug_share"])) & (act_share >= float(flags["ald_drug_lift"]) * base)
    med = (lines["act_family"] == "MEDICATION").to_numpy(bool)
    lines["ald_drug"] = ald_act & med
    # A patient whose ALD status was not written, on an act given mostly to ALD patients, most probably has one:
    # unknown is not "no ALD" here either.
    lines["ald_care"] = ald_act & (ald | ~ald_known)
    lines["non_ald_ald_drug"] = lines["ald_drug"] & ald_known & ~ald
    year = lines["service_date"].dt.year
    lines["age"] = (year - lines["birth_year"].astype("Float64")).astype(float).fillna(-1).to_numpy()
    lines["suspicious"] = ((lines["tadamon"] & (lines["expensive"] | lines["far"]) & ~lines["ald_care"])
                           | lines["non_ald_ald_drug"])
    return lines


def _act_share(acts: pd.Series, yes: np.ndarray, stated: np.ndarray) -> np.ndarray:
    """Per line, the share of its act's lines stating the ALD flag that say yes (NaN when none states it).

    Counted on the act's integer codes (no Python string per line); the share is sum / count, as a mean of
    booleans is.
    """
    codes, _ = pd.factorize(acts)
    known = stated & (codes >= 0)
    n = int(codes.max()) + 1 if len(codes) and codes.max() >= 0 else 0
    count = np.bincount(codes[known], minlength=n).astype(float)
    hits = np.bincount(codes[known & yes], minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(count > 0, hits / np.where(count > 0, count, 1.0), np.nan)
    return np.where(codes >= 0, share[np.maximum(codes, 0)] if n else np.nan, np.nan)


def _ald_base_rate(patient_codes: np.ndarray | None, ald: np.ndarray, ald_known: np.ndarray) -> float:
    """Share of the patients of known ALD status who have an ALD (0 when none is known)."""
    if patient_codes is None or not ald_known.any():
        return 0.0
    known = ald_known & (patient_codes >= 0)
    if not known.any():
        return float("nan")
    n = int(patient_codes.max()) + 1
    seen = np.bincount(patient_codes[known], minlength=n) > 0
    has = np.bincount(patient_codes[known & ald], minlength=n) > 0
    return float(has.sum() / seen.sum())


def _fill_regions(lines: pd.DataFrame, patient_codes: np.ndarray | None = None) -> None:
    """Fill regions a line left empty from the same entity's other lines, in place.

    Regions are optional fields some providers never fill. A patient's home region is
    a property of the patient (taken from its other lines); a provider's region is its
    own, else the region most of its patients live in. Without this, one provider that
    omits regions makes its patients look like people from nowhere, seen together.
    """
    if not {"beneficiary_region", "provider_region"} <= set(lines.columns):
        return
    cats = [lines[c] if isinstance(lines[c].dtype, pd.CategoricalDtype) else lines[c].astype("category")
            for c in ("beneficiary_region", "provider_region")]
    union = cats[0].cat.categories.union(cats[1].cat.categories)
    if len(union) == 0:
        return
    home = cats[0].cat.set_categories(union).cat.codes.to_numpy().astype(np.int64)
    where = cats[1].cat.set_categories(union).cat.codes.to_numpy().astype(np.int64)
    if (home >= 0).all() and (where >= 0).all():
        return
    if patient_codes is None:
        patient_codes = pd.factorize(lines["beneficiary_id"])[0]
    home = _fill_codes(home, patient_codes, len(union), most_frequent=False)
    prov = pd.factorize(lines["provider_id"])[0]
    where = _fill_codes(where, prov, len(union), most_frequent=False)
    # A provider that never writes its region: where most of its patients live.
    where = np.where(where >= 0, where, _fill_codes(np.where(where >= 0, -1, home), prov, len(union),
                                                    most_frequent=True))
    for col, codes in (("beneficiary_region", home), ("provider_region", where)):
        lines[col] = pd.Categorical.from_codes(codes, categories=union)


def _fill_codes(codes: np.ndarray, keys: np.ndarray, n_codes: int, *, most_frequent: bool) -> np.ndarray:
    """Missing codes (-1) filled per key: with a known code of the key's lines, or with the key's most
    frequent code (``most_frequent``, for every line of the key)."""
    ok = (codes >= 0) & (keys >= 0)
    if not ok.any():
        return codes
    n_keys = int(keys.max()) + 1
    if most_frequent:
        counts = np.zeros((n_keys, n_codes), dtype=np.int64)
        np.add.at(counts, (keys[ok], codes[ok]), 1)
        best = np.where(counts.any(axis=1), counts.argmax(axis=1), -1)
    else:
        best = np.full(n_keys, -1, dtype=np.int64)
        np.maximum.at(best, keys[ok], codes[ok])
    filled = np.where(keys >= 0, best[np.maximum(keys, 0)], -1)
    return filled if most_frequent else np.where(codes >= 0, codes, filled)


def _patient_ald(lines: pd.DataFrame, patient_codes: np.ndarray | None = None) -> pd.Series:
    """Each line's patient's ALD status: True when any of the patient's lines says so, False when some
    say no and none yes, unknown otherwise.

    An ALD is a property of the patient, not of the line: a pharmacy that leaves the optional flag
    empty dispenses to patients whose doctor records it.
    """
    if "ald" not in lines:
        return pd.Series(pd.NA, index=lines.index, dtype="boolean")
    flag = lines["ald"].astype("boolean")
    codes = pd.factorize(lines["beneficiary_id"])[0] if patient_codes is None else patient_codes
    has_id = codes >= 0
    known = flag.notna().to_numpy(bool) & has_id
    yes = flag.fillna(False).to_numpy(bool) & has_id
    n = int(codes.max()) + 1 if has_id.any() else 0
    any_yes = np.bincount(codes[yes], minlength=n) > 0
    any_known = np.bincount(codes[known], minlength=n) > 0
    safe = np.where(has_id, codes, 0)
    out = pd.array(any_yes[safe] if n else np.zeros(len(codes), bool), dtype="boolean")
    out[~(any_known[safe] if n else np.zeros(len(codes), bool))] = pd.NA
    # A line without a patient id keeps its own flag.
    out[~has_id] = flag.to_numpy()[~has_id]
    return pd.Series(out, index=lines.index)


def _differ(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Where two columns both hold a value and the values differ (on codes when both are encoded)."""
    known = (a.notna() & b.notna()).to_numpy(bool)
    if not (isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype)):
        return known & (a.astype(object) != b.astype(object)).to_numpy(bool)
    union = a.cat.categories.union(b.cat.categories)
    ca = a.cat.set_categories(union).cat.codes.to_numpy()
    cb = b.cat.set_categories(union).cat.codes.to_numpy()
    return known & (ca != cb)


def robust_z(values: np.ndarray | pd.Series, *, min_scale: float = 1e-9) -> np.ndarray:
    """Robust z-scores: (x - median) / (1.4826 * MAD).

    When the MAD is zero (more than half the values equal), the scale falls back to
    the mean absolute deviation; it is never below ``min_scale``, so tiny wobbles
    around a constant do not become huge z-scores.

    Parameters
    ----------
    values : array-like
    min_scale : float
        Smallest scale used.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return x
    med, spread = robust_spread(x)
    return (x - med) / max(spread, min_scale, 1e-12)


def robust_spread(values: np.ndarray) -> tuple[float, float]:
    """Median and robust spread of ``values``, NaN left out: 1.4826 x MAD, or 1.2533 x the mean absolute
    deviation when the MAD is zero (more than half the values equal); 0 when neither is positive.

    Parameters
    ----------
    values : ndarray
    """
    x = np.asarray(values, dtype=float)
    med = np.nanmedian(x)
    dev = np.abs(x - med)
    spread = 1.4826 * np.nanmedian(dev)
    if not spread > 0:
        spread = 1.2533 * np.nanmean(dev)
    return med, float(np.nan_to_num(spread))


def peer_z(frame: pd.DataFrame, column: str, peers: list[str], *, min_peers: int = 8,
           min_scale: float = 1e-9, variance: str | None = None) -> np.ndarray:
    """Robust z of ``column`` within peer groups ``peers``.

    Peer groups smaller than ``min_peers`` fall back to the first peer column alone
    (e.g. provider type without region), then to everyone (see :func:`peer_groups`).
    With ``variance`` (a column holding each row's sampling variance of ``column``),
    the z is a funnel plot's: the peers' spread is split into what sampling explains
    (the median variance) and the rest, the spread between entities (``tau``, at least
    ``min_scale``), and each row is divided by ``sqrt(tau^2 + its own variance)``, so a
    share of 5 lines is not as surprising as the same share of 500.

    Parameters
    ----------
    frame : DataFrame
        One row per entity, with ``column`` and the ``peers`` columns.
    column : str
        The value compared.
    peers : list of str
        Peer columns, finest grouping last (e.g. ``["peer_type", "region"]``).
    min_peers : int
        Fewest members (the entity included) a peer group needs to be used.
    min_scale : float
        Smallest spread of the robust z (see :func:`robust_z`), or of ``tau``.
    variance : str, optional
        Column of each row's sampling variance of ``column``.
    """
    out = np.full(len(frame), np.nan)
    values = frame[column].to_numpy(float)
    var = None if variance is None else np.nan_to_num(frame[variance].to_numpy(float), nan=0.0)
    for _, members, compared in _peer_sets(frame, peers, min_peers):
        inside = np.isin(members, compared)
        if var is None:
            out[compared] = robust_z(values[members], min_scale=min_scale)[inside]
            continue
        x = values[members]
        med, spread = robust_spread(x)
        tau2 = max(spread ** 2 - float(np.median(var[members])), min_scale ** 2, 1e-24)
        out[members[inside]] = (x[inside] - med) / np.sqrt(tau2 + var[members][inside])
    return out


def peer_groups(frame: pd.DataFrame, peers: list[str], *, min_peers: int = 8) -> pd.DataFrame:
    """The peer group each row of ``frame`` is compared with by :func:`peer_z`.

    A row's group is the rows sharing all its ``peers`` values when there are at
    least ``min_peers`` of them (itself included); otherwise those sharing its first
    peer values, one column fewer at a time; otherwise every row.

    Parameters
    ----------
    frame : DataFrame
        One row per entity, with the ``peers`` columns.
    peers : list of str
        Peer columns, finest grouping last.
    min_peers : int
        Fewest members a peer group needs to be used.

    Returns
    -------
    DataFrame
        Indexed like ``frame``: ``n_columns`` (how many of ``peers`` the group shares,
        0 for everyone), ``group`` (an integer naming the group) and ``size`` (its
        rows, the row itself included).
    """
    out = pd.DataFrame({"n_columns": np.zeros(len(frame), np.int64), "group": np.zeros(len(frame), np.int64),
                        "size": np.zeros(len(frame), np.int64)}, index=frame.index)
    for k, (n_columns, members, compared) in enumerate(_peer_sets(frame, peers, min_peers)):
        out.iloc[compared, 0] = n_columns
        out.iloc[compared, 1] = k
        out.iloc[compared, 2] = len(members)
    return out


def _peer_sets(frame: pd.DataFrame, peers: list[str], min_peers: int):
    """(peer columns shared, members, compared) of each peer group used, finest levels first:
    ``compared`` are the positions of the rows not yet placed in a finer group, whose peers
    are the positions ``members``."""
    levels = [peers[:k] for k in range(len(peers), 0, -1)] + [[]]
    remaining = np.ones(len(frame), bool)
    for level in levels:
        if not remaining.any():
            break
        codes = (frame.groupby(level, sort=True, dropna=False).ngroup().to_numpy() if level
                 else np.zeros(len(frame), dtype=np.int64))
        order = np.argsort(codes, kind="mergesort")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        for members in np.split(order, bounds):
            todo = members[remaining[members]]
            if not len(todo) or (level and len(members) < min_peers):
                continue
            yield len(level), members, todo
            remaining[todo] = False


class Detector(abc.ABC):
    """Base of every detector: sklearn-style parameters, ``fit`` returns Findings.

    Subclasses set ``name``, store each ``__init__`` argument unchanged under the
    same attribute name, and implement :meth:`_run`.
    """

    name: str = "detector"

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters, exactly as given."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def fit(self, claims: pd.DataFrame, *, context: DetectionContext | None = None) -> Findings:
        """Score ``claims``; reuse ``context`` when the pipeline built one.

        Parameters
        ----------
        claims : DataFrame
            Claims per the claims contract.
        context : DetectionContext, optional
            Built by :func:`build_context`; built here when absent.

        Returns
        -------
        Findings
        """
        if context is None:
            context = build_context(claims)
        elif (context.fingerprint and _built_from(context) is not claims
              and context.fingerprint != claims_fingerprint(claims)):
            raise ValueError(f"{self.name}.fit: the context was built from other claims "
                             f"({context.fingerprint.split(':')[0]} lines) than the {len(claims)} given")
        scores, groups, stats = self._run(context)
        return Findings(detector=self.name, params=self.get_params(), scores=scores, groups=groups, stats=stats)

    @abc.abstractmethod
    def _run(self, context: DetectionContext) -> tuple[pd.DataFrame | Rows | None, pd.DataFrame | Rows | None,
                                                       dict[str, Any]]:
        """Return (scores, groups, stats) as plain data; :class:`Findings` sorts and dedupes the scores."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _built_from(context: DetectionContext) -> Any:
    ref = context.cache.get("claims")
    return ref() if ref is not None else None
