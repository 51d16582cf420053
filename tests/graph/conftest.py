"""Fixtures of the graph tests: the tiny claims built into a graph and a store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graph.build import build_graph
from graph.intermediaries import infer_intermediaries
from graph.sqlite_store import SqliteGraphStore
from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES


@pytest.fixture
def tiny_intermediaries(tiny_claims):
    """Intermediaries of the tiny claims, with a point cap (10) below the big point's 12 households."""
    return infer_intermediaries(tiny_claims, max_point_households=10)


@pytest.fixture
def tiny_graph(tiny_claims, tiny_intermediaries):
    return build_graph(tiny_claims, intermediaries=tiny_intermediaries)


@pytest.fixture
def tiny_store(tmp_path, tiny_graph):
    store = SqliteGraphStore(tmp_path / "home")
    store.write(tiny_graph)
    yield store
    store.close()


def random_claims(n_lines: int, n_patients: int, n_providers: int, seed: int = 0) -> pd.DataFrame:
    """Contract-shaped claims with random patients and providers (for comparisons with networkx)."""
    rng = np.random.default_rng(seed)
    bene = rng.integers(0, n_patients, n_lines)
    prov = rng.integers(0, n_providers, n_lines)
    day = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 60, n_lines), unit="D")
    filled = {
        "claim_id": [f"C{i}" for i in range(n_lines)], "line_no": np.ones(n_lines, dtype=np.int64),
        "beneficiary_id": [f"B{b}" for b in bene], "regime": ["TADAMON"] * n_lines,
        "provider_id": [f"P{p}" for p in prov], "provider_type": ["DOCTOR"] * n_lines,
        "doctor_id": [f"D{p % 7}" for p in prov], "act_code": ["C"] * n_lines,
        "act_family": ["CONSULTATION"] * n_lines, "quantity": np.ones(n_lines, dtype=np.int64),
        "service_date": day, "submission_date": day,
        "amount_claimed": rng.integers(100, 1000, n_lines).astype(float),
    }
    frame = pd.DataFrame({
        c: pd.Series(filled[c] if c in filled else [None] * n_lines).astype(d) for c, d in CLAIM_DTYPES.items()
    })
    return frame[list(CLAIM_COLUMNS)]
