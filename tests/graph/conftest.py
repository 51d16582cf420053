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
    frame = pd.DataFrame({c: pd.Series([None] * n_lines, dtype=d) for c, d in CLAIM_DTYPES.items()})
    frame["claim_id"] = pd.array([f"C{i}" for i in range(n_lines)], dtype="string")
    frame["line_no"] = 1
    frame["beneficiary_id"] = pd.array([f"B{b}" for b in bene], dtype="string")
    frame["regime"] = pd.array(["TADAMON"] * n_lines, dtype="string")
    frame["provider_id"] = pd.array([f"P{p}" for p in prov], dtype="string")
    frame["provider_type"] = pd.array(["DOCTOR"] * n_lines, dtype="string")
    frame["doctor_id"] = pd.array([f"D{p % 7}" for p in prov], dtype="string")
    frame["act_code"] = pd.array(["C"] * n_lines, dtype="string")
    frame["act_family"] = pd.array(["CONSULTATION"] * n_lines, dtype="string")
    frame["quantity"] = 1
    day = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 60, n_lines), unit="D")
    frame["service_date"] = day.astype("datetime64[ns]")
    frame["submission_date"] = frame["service_date"]
    frame["amount_claimed"] = rng.integers(100, 1000, n_lines).astype(float)
    return frame[list(CLAIM_COLUMNS)]
