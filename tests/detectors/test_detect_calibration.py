"""One calibrated scale: surprises are monotone in the evidence, look-alikes stay below, upcoders stand out."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.base import build_context
from detectors.calibration import combine, count_surprise, surprise
from detectors.coefficients import CoefficientDetector
from detectors.config import DetectionConfig
from detectors.cores import CoreDetector
from detectors.pipeline import detect
from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES
from tests.detectors.conftest import _row

GP, NEXT_DOOR = "PRV-GP-N", "PRV-PHARMA-NEXT"
UPCODER = "PRV-CLINIC-U"


def _frame(rows: list[dict], base: pd.DataFrame) -> pd.DataFrame:
    extra = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        extra[col] = extra[col].astype(dtype)
    return pd.concat([base, extra], ignore_index=True)


def _with_gp_and_pharmacy_next_door(base: pd.DataFrame) -> pd.DataFrame:
    """Forty Tadamon patients of a GP, each filling a costly prescription at the pharmacy next door."""
    rows = []
    for k in range(40):
        cid, day = f"CLM-GP{k:03d}", f"2025-03-{3 + k % 20:02d}"
        rows.append(_row(cid, 1, f"BEN-G{k}", GP, "DOCTOR", "CONSULTATION", "C", 150.0, day, regime="TADAMON",
                         doctor=GP))
        rows.append(_row(cid, 2, f"BEN-G{k}", NEXT_DOOR, "PHARMACY", "MEDICATION", "MED7", 2500.0, day,
                         regime="TADAMON", doctor=GP))
    return _frame(rows, base)


def _with_clinics(base: pd.DataFrame, *, inflate: float) -> pd.DataFrame:
    """Eight clinics billing the same mix of surgery coefficients; one inflates 60 % of them by ``inflate``."""
    rng = np.random.default_rng(5)
    mix = np.array([20, 30, 40, 50, 60, 80, 100, 120, 150])
    rows = []
    for c in range(8):
        clinic = UPCODER if c == 0 else f"PRV-CLINIC-S{c}"
        for k in range(40):
            coef = int(rng.choice(mix))
            if c == 0 and rng.random() < 0.6:
                coef = int(coef * inflate)
            rows.append(_row(f"CLM-S{c}-{k:03d}", 1, f"BEN-S{c}-{k}", clinic, "CLINIC", "SURGERY", f"K{coef}",
                             30.0 * coef, f"2025-03-{3 + k % 20:02d}", doctor=f"DOC-S{c}"))
    return _frame(rows, base)


@settings(max_examples=60, deadline=None)
@given(st.floats(-5, 30), st.floats(0, 10), st.integers(1, 10_000))
def test_surprise_rises_with_z_and_falls_with_the_number_tested(z, dz, n):
    df = DetectionConfig().get("calibration.tail_df")
    assert surprise(z + dz, n_tested=n, df=df) >= surprise(z, n_tested=n, df=df)
    assert surprise(z, n_tested=n, df=df) >= surprise(z, n_tested=n * 10, df=df)
    assert surprise(z, n_tested=n, df=df) >= 0.0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500), st.integers(0, 50), st.floats(0.01, 100), st.floats(0, 50))
def test_count_surprise_rises_with_what_is_seen_and_falls_with_what_is_expected(seen, more, expected, extra):
    assert count_surprise(seen + more, expected) >= count_surprise(seen, expected) - 1e-9
    assert count_surprise(seen, expected) >= count_surprise(seen, expected + extra) - 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 50), min_size=1, max_size=5), st.integers(0, 4), st.floats(0, 20))
def test_combining_is_monotone_in_each_surprise(values, which, rise):
    i = which % len(values)
    raised = list(values)
    raised[i] += rise
    assert combine(raised) >= combine(values) - 1e-9
    assert combine([values[0]]) == values[0]


def test_ring_scores_are_fisher_combinations_of_their_detectors(pattern_result):
    # Every ring is on the surprise scale: its score is the combination of one surprise per detector that found it.
    by_group = {}
    for f in pattern_result.findings:
        for gid, g in f.groups.groupby("group_id"):
            by_group[(f.detector, gid)] = float(g["score"].max())
    for ring in pattern_result.rings.itertuples(index=False):
        found_by = [d for d in ring.detectors.split(",") if d != "communities"]
        best = [max(v for (d, _), v in by_group.items() if d == name) for name in found_by]
        assert ring.score <= combine([b for b in best if b > 0] or [max(best)]) + 1e-6


def test_a_gp_and_the_pharmacy_next_door_are_not_a_ring(pattern_claims):
    claims = _with_gp_and_pharmacy_next_door(pattern_claims)
    context = build_context(claims)
    assert tuple(sorted((GP, NEXT_DOOR))) in context.prescriptions
    cores = CoreDetector(min_score=0.0).fit(claims, context=context)
    for _, g in cores.groups.groupby("group_id"):
        assert not {GP, NEXT_DOOR} <= set(g["entity_id"])
    result = detect(claims, seed=1, config=DetectionConfig.from_mapping({"rings": {"alert_surprise": -1e9}}))
    for _, m in result.members.groupby("ring_id"):
        assert not {GP, NEXT_DOOR} <= set(m["entity_id"])


def test_an_upcoder_by_coefficient_inflation_ranks_first(pattern_claims):
    claims = _with_clinics(pattern_claims, inflate=1.8)
    scores = CoefficientDetector().fit(claims).scores
    assert scores.iloc[0]["entity_id"] == UPCODER and scores.iloc[0]["score"] > 0
    assert "main K act" in scores.iloc[0]["evidence"]
    honest = CoefficientDetector().fit(_with_clinics(pattern_claims, inflate=1.0)).scores
    assert honest["score"].max() < scores.iloc[0]["score"]
