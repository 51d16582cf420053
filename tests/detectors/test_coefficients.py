"""Coefficient inflation is read act against act among peers: case mix is not upcoding, a consistent shift is."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from detectors.base import line_flags
from detectors.coefficients import CoefficientDetector, coefficient_table, provider_upcoding, stay_table
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


def test_stay_codes_are_days_not_coefficients(pattern_claims):
    t = coefficient_table(line_flags(_stays(pattern_claims, extra_days=0)))
    assert "PJ" not in set(t["key"])


def _tail_clinics(base: pd.DataFrame, *, share: float) -> pd.DataFrame:
    """Twelve clinics of one mix, most operations light; the upcoder bills ``share`` of its operations at
    three times the coefficient (into the peers' top tail) and the rest as everyone does."""
    rng = np.random.default_rng(5)
    rows = []
    for c in range(12):
        clinic = UPCODER if c == 0 else f"PRV-CLINIC-Q{c}"
        for k in range(40):
            coef = int(rng.choice(MIX, p=[0.2, 0.2, 0.15, 0.15, 0.1, 0.08, 0.06, 0.04, 0.02]))
            if c == 0 and rng.random() < share:
                coef *= 3
            rows.append(_row(f"CLM-Q{c}-{k:03d}", 1, f"BEN-Q{c}-{k}", clinic, "CLINIC", "SURGERY", f"K{coef}",
                             30.0 * coef, f"2025-03-{3 + k % 20:02d}", doctor=f"DOC-Q{c}"))
    extra = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        extra[col] = extra[col].astype(dtype)
    return pd.concat([base, extra], ignore_index=True)


def test_acts_moved_into_the_peers_top_tail_are_counted_against_the_peers_share(pattern_claims):
    t = coefficient_table(line_flags(_tail_clinics(pattern_claims, share=0.4)))
    tail = t[(t["key"] == "K") & (t["test"] == "tail")].set_index("provider_id")
    assert tail.loc[UPCODER, "n_high"] / tail.loc[UPCODER, "n_lines"] > 2 * tail.loc[UPCODER, "peer_share"]
    assert tail["z"].idxmax() == UPCODER and tail.loc[UPCODER, "z"] > 3.0
    # The z is the count's exact tail probability read as a normal z.
    assert np.isclose(tail.loc[UPCODER, "tail_log10_p"], np.log10(stats.norm.sf(tail.loc[UPCODER, "z"])))
    scores = CoefficientDetector().fit(_tail_clinics(pattern_claims, share=0.4)).scores
    assert scores.iloc[0]["entity_id"] == UPCODER
    honest = coefficient_table(line_flags(_tail_clinics(pattern_claims, share=0.0)))
    assert honest.loc[honest["test"] == "tail", "z"].max() < 3.0


def test_ordinary_stays_do_not_dilute_a_coefficient_upcoder(pattern_claims):
    # Fisher's method alone would average the inflated operations with the stays' nothing.
    def log10_p(claims: pd.DataFrame) -> float:
        lines = line_flags(claims)
        t = provider_upcoding(coefficient_table(lines), stay_table(lines), tail_df=12.0)
        return float(t.set_index("provider_id").loc[UPCODER, "log10_p"])

    alone = log10_p(_clinics(pattern_claims, inflate=1.5))
    with_stays = _stays(_clinics(pattern_claims, inflate=1.5), extra_days=0)
    assert CoefficientDetector().fit(with_stays).scores.iloc[0]["entity_id"] == UPCODER
    # Only the correction for the second facet and for trying two combinations separates them.
    assert log10_p(with_stays) <= alone + 2 * np.log10(2) + 1e-9
