"""Control indicators against peers: small numbers are not evidence, volumes are compared with peers of one size."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.base import build_context, peer_z
from detectors.indicators import INDICATORS, compare_with_peers, control_indicators, score_indicators
from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES
from tests.detectors.conftest import _row


def _frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        out[col] = out[col].astype(dtype)
    return out


def _clinics(*, n_clinics: int = 12, surgeons: dict[str, int] | None = None,
             dossiers: dict[str, int] | None = None, late: dict[str, int] | None = None) -> pd.DataFrame:
    """Clinics of one region, each with a number of surgeons and of surgery dossiers over six weeks.

    ``late`` puts that many of a clinic's dossiers in the last week (growth).
    """
    surgeons, dossiers, late = surgeons or {}, dossiers or {}, late or {}
    rng = np.random.default_rng(3)
    rows = []
    for c in range(n_clinics):
        clinic = f"PRV-CL{c:02d}"
        n_doc = surgeons.get(clinic, 2)
        n = dossiers.get(clinic, 40)
        n_late = late.get(clinic, 0)
        for k in range(n):
            day = pd.Timestamp("2025-03-03") + pd.Timedelta(days=int(41 - k % 6) if k < n_late else int(k % 42))
            rows.append(_row(f"CLM-{c}-{k:04d}", 1, f"BEN-{c}-{k}", clinic, "CLINIC", "SURGERY", "K50",
                             float(rng.uniform(1000, 3000)), day.strftime("%Y-%m-%d"), doctor=f"DOC-{c}-{k % n_doc}"))
    return _frame(rows)


def test_a_growth_resting_on_a_few_lines_is_less_surprising_than_the_same_growth_on_many():
    # Two clinics whose whole billing falls in the last week: one with 6 dossiers, one with 120.
    claims = _clinics(dossiers={"PRV-CL00": 6, "PRV-CL01": 120}, late={"PRV-CL00": 6, "PRV-CL01": 120})
    table = control_indicators(build_context(claims).lines)
    scores = score_indicators(table, entity_type="PROVIDER").set_index("entity_id")
    assert table.set_index("entity_id").loc["PRV-CL00", "revenue_growth"] > 1.5
    assert scores.loc["PRV-CL01", "z_revenue_growth"] > 2 * scores.loc["PRV-CL00", "z_revenue_growth"]
    assert scores.loc["PRV-CL01", "score"] > scores.loc["PRV-CL00", "score"]


def test_funnel_z_divides_by_the_peers_spread_plus_the_rows_own_sampling_variance():
    frame = pd.DataFrame({"t": ["A"] * 9, "x": [0.0, 0.1, -0.1, 0.2, -0.2, 0.05, -0.05, 0.0, 1.0],
                          "v": [0.0] * 8 + [0.0]})
    precise = peer_z(frame, "x", ["t"], min_peers=2, variance="v")
    noisy = peer_z(frame.assign(v=[0.0] * 8 + [0.25]), "x", ["t"], min_peers=2, variance="v")
    plain = peer_z(frame, "x", ["t"], min_peers=2)
    np.testing.assert_allclose(precise, plain)
    assert noisy[-1] < precise[-1] / 2
    np.testing.assert_allclose(noisy[:-1], precise[:-1])


def test_volume_is_compared_with_clinics_of_the_same_size_band():
    # Four big clinics (16 surgeons, 160 dossiers each) among small ones (2 surgeons, 40 dossiers):
    # against every clinic they bill a lot; against clinics of their size, nothing unusual.
    big = {f"PRV-CL{c:02d}": 16 for c in range(8)}
    claims = _clinics(n_clinics=20, surgeons=big, dossiers={k: 160 for k in big})
    table = control_indicators(build_context(claims).lines)
    t = table.set_index("entity_id")
    assert t.loc["PRV-CL00", "size_band"] == 5 and t.loc["PRV-CL19", "size_band"] == 2
    scores = score_indicators(table, entity_type="PROVIDER", min_peers=8).set_index("entity_id")
    assert abs(scores.loc["PRV-CL00", "z_volume"]) < 1.0
    peers = compare_with_peers(table, min_peers=8)
    row = peers[(peers["entity_id"] == "PRV-CL00") & (peers["indicator"] == "volume")].iloc[0]
    assert row["peer_group"] == "CLINIC, size band 5, region 06" and row["n_peers"] == 8


def test_every_indicator_has_its_sampling_variance():
    table = control_indicators(build_context(_clinics()).lines)
    for name in INDICATORS:
        v = table[f"se2_{name}"]
        assert v.notna().all() and (v >= 0).all(), name


def test_far_tadamon_care_expected_by_design_is_not_counted():
    # Far Tadamon patients: one's chemotherapy (an act of ALD patients), the others' stays at a public hospital.
    rows = []
    for k in range(40):
        day = f"2025-03-{3 + k % 20:02d}"
        rows.append(_row(f"CLM-O{k}", 1, f"BEN-O{k}", "PRV-ONCO", "CLINIC", "MEDICATION", "CHEMO", 9000.0, day,
                         regime="TADAMON", region="01", ald=True, doctor="DOC-O"))
        rows.append(_row(f"CLM-H{k}", 1, f"BEN-H{k}", "PRV-HOSP", "HOSPITAL", "HOSPITAL_STAY", "PJ1", 3000.0, day,
                         regime="TADAMON", region="01", doctor="DOC-H"))
        rows.append(_row(f"CLM-C{k}", 1, f"BEN-H{k}", "PRV-CLIN", "CLINIC", "SURGERY", "K80", 3000.0, day,
                         regime="TADAMON", region="01", doctor="DOC-C"))
        rows.append(_row(f"CLM-G{k}", 1, f"BEN-G{k}", "PRV-GP", "DOCTOR", "CONSULTATION", "C", 150.0, day,
                         doctor="DOC-G"))
    lines = build_context(_frame(rows)).lines
    t = control_indicators(lines, public_types=("HOSPITAL",)).set_index("entity_id")["far_tadamon_expensive"]
    assert t["PRV-ONCO"] == 0.0 and t["PRV-HOSP"] == 0.0
    assert t["PRV-CLIN"] == 1.0
