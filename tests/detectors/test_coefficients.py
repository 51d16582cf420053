"""Coefficient inflation is read act against act among peers: case mix is not upcoding, a consistent shift is."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.base import line_flags
from detectors.coefficients import CoefficientDetector, coefficient_table
from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES
from tests.detectors.conftest import _row

UPCODER = "PRV-CLINIC-U"
MIX = np.array([20, 30, 40, 50, 60, 80, 100, 120, 150])


def _clinics(base: pd.DataFrame, *, inflate: float, n_clinics: int = 12, operations: int = 80) -> pd.DataFrame:
    """Clinics drawing operations from one mix; half bill an anaesthesia line (K 0.3c + 5) with each operation
    (their plain mean coefficient is much lower: case mix); the upcoder, one of those, inflates 60 % of its
    operations by ``inflate``."""
    rng = np.random.default_rng(11)
    rows = []
    for c in range(n_clinics):
        clinic = UPCODER if c == 0 else f"PRV-CLINIC-S{c}"
        anaesthesia = c % 2 == 0
        for k in range(operations):
            coef = int(rng.choice(MIX))
            if c == 0 and rng.random() < 0.6:
                coef = int(coef * inflate)
            cid, day = f"CLM-S{c}-{k:03d}", f"2025-03-{3 + k % 20:02d}"
            rows.append(_row(cid, 1, f"BEN-S{c}-{k}", clinic, "CLINIC", "SURGERY", f"K{coef}", 30.0 * coef, day,
                             doctor=f"DOC-S{c}"))
            if anaesthesia:
                low = int(coef * 0.3) + 5
                rows.append(_row(cid, 2, f"BEN-S{c}-{k}", clinic, "CLINIC", "SURGERY", f"K{low}", 30.0 * low, day,
                                 doctor=f"DOC-A{c}"))
    extra = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        extra[col] = extra[col].astype(dtype)
    return pd.concat([base, extra], ignore_index=True)


def test_an_upcoder_within_the_case_mix_spread_ranks_first(pattern_claims):
    claims = _clinics(pattern_claims, inflate=1.4)
    lines = line_flags(claims)
    # Its plain mean log coefficient is below the clinics that bill no anaesthesia line...
    k = lines[lines["act_code"].astype(str).str.match(r"^K\d+$") & lines["provider_id"].astype(str)
              .str.startswith("PRV-CLINIC-")]
    plain = np.log(k["act_code"].astype(str).str[1:].astype(float)).groupby(k["provider_id"].astype(str)).mean()
    assert plain[UPCODER] < plain.max()
    # ...yet, act against act, it is the one whose coefficients stand out.
    scores = CoefficientDetector().fit(claims).scores
    assert scores.iloc[0]["entity_id"] == UPCODER and scores.iloc[0]["score"] > 0
    assert "main K act" in scores.iloc[0]["evidence"]


def test_case_mix_alone_is_not_upcoding(pattern_claims):
    scores = CoefficientDetector().fit(_clinics(pattern_claims, inflate=1.0)).scores
    clinics = scores[scores["entity_id"].astype(str).str.startswith("PRV-CLINIC-")]
    assert len(clinics) == 12
    # Surprise 1 is "one world in ten without fraud shows something this extreme": case mix stays below it,
    # and below the upcoder of the same clinics.
    assert clinics["score"].max() < 1.0
    upcoded = CoefficientDetector().fit(_clinics(pattern_claims, inflate=1.4)).scores
    assert clinics["score"].max() < upcoded["score"].max()


def test_a_dossier_counts_once_by_its_main_act(pattern_claims):
    t = coefficient_table(line_flags(_clinics(pattern_claims, inflate=1.0)))
    k = t[(t["key"] == "K") & t["provider_id"].astype(str).str.startswith("PRV-CLINIC-")]
    assert set(k["n_lines"]) == {80}


def _stays(base: pd.DataFrame, *, extra_days: int) -> pd.DataFrame:
    """Ten clinics billing stays of 1-5 days (PJ1, one line a stay); the upcoder adds ``extra_days`` to 60 %."""
    rng = np.random.default_rng(3)
    rows = []
    for c in range(10):
        clinic = UPCODER if c == 0 else f"PRV-CLINIC-T{c}"
        for k in range(60):
            days = int(rng.integers(1, 6)) + (extra_days if c == 0 and rng.random() < 0.6 else 0)
            row = _row(f"CLM-T{c}-{k:03d}", 1, f"BEN-T{c}-{k}", clinic, "CLINIC", "HOSPITAL_STAY", "PJ1",
                       400.0 * days, f"2025-03-{3 + k % 20:02d}", doctor=f"DOC-T{c}")
            row.update(quantity=days, stay_days=days)
            rows.append(row)
    extra = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        extra[col] = extra[col].astype(dtype)
    return pd.concat([base, extra], ignore_index=True)


def test_longer_stays_than_the_peers_billing_the_same_stay_code_rank_first(pattern_claims):
    scores = CoefficientDetector().fit(_stays(pattern_claims, extra_days=2)).scores
    assert scores.iloc[0]["entity_id"] == UPCODER and scores.iloc[0]["score"] > 0
    assert "PJ1 stay lines" in scores.iloc[0]["evidence"]
    honest = CoefficientDetector().fit(_stays(pattern_claims, extra_days=0)).scores
    assert honest["score"].max() < 1.0


def test_both_facets_of_an_upcoder_add_up(pattern_claims):
    both = CoefficientDetector().fit(_stays(_clinics(pattern_claims, inflate=1.3), extra_days=1)).scores
    coefficients_only = CoefficientDetector().fit(_stays(_clinics(pattern_claims, inflate=1.3), extra_days=0)).scores
    top = both.set_index("entity_id")["score"]
    assert both.iloc[0]["entity_id"] == UPCODER
    assert top[UPCODER] > coefficients_only.set_index("entity_id")["score"][UPCODER]
