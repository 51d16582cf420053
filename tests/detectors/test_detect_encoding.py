"""Findings do not depend on how the claims are held in memory (codes, Arrow strings, Python objects)."""

from __future__ import annotations

import pandas as pd
import pytest

import detectors.base
from detectors.pipeline import detect
from ingest.encode import CODED_COLUMNS, ID_COLUMNS, encode_claims


def _as_python_objects(claims: pd.DataFrame) -> pd.DataFrame:
    """The representation detection used before encoding: text as Python objects, missing as None."""
    out = claims.copy()
    for col in out.columns:
        if col in CODED_COLUMNS or col in ID_COLUMNS:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _findings(result) -> dict[str, pd.DataFrame]:
    return {name: getattr(result, name).reset_index(drop=True)
            for name in ("rings", "members", "entity_scores")}


@pytest.mark.parametrize("which", ["patterns", "world"])
def test_findings_are_the_same_with_encoded_and_python_object_claims(which, pattern_claims, small_world,
                                                                     monkeypatch):
    claims = pattern_claims if which == "patterns" else small_world
    encoded = _findings(detect(encode_claims(claims), seed=7))
    assert len(encoded["rings"]) > 0
    monkeypatch.setattr(detectors.base, "encode_claims", _as_python_objects)
    plain = _findings(detect(_as_python_objects(claims), seed=7))
    for name, frame in encoded.items():
        pd.testing.assert_frame_equal(frame, plain[name], check_dtype=False, obj=name)


def test_graph_is_the_same_built_from_encoded_claims(small_world):
    from graph.build import build_graph

    encoded = build_graph(encode_claims(small_world))
    plain = build_graph(_as_python_objects(small_world))
    for name in ("nodes", "edges"):
        pd.testing.assert_frame_equal(getattr(encoded, name).astype(object), getattr(plain, name).astype(object),
                                      obj=name)


def test_store_reads_encoded_claims_with_the_same_values(tmp_path, tiny_claims):
    from ingest.store import ClaimsStore

    path = tmp_path / "claims.parquet"
    tiny_claims.to_parquet(path, index=False)
    with ClaimsStore(tmp_path / "home") as store:
        store.ingest([path])
        plain = store.claims()
        encoded = store.claims(encoded=True)
    assert isinstance(encoded["regime"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(_as_python_objects(encoded), _as_python_objects(plain), check_dtype=False)


def test_coefficients_are_the_same_from_coded_and_text_act_codes(small_world):
    from detectors.base import line_flags
    from detectors.coefficients import coefficient_table

    lines = line_flags(small_world)
    lines.loc[lines.index[:50], "act_code"] = None
    assert isinstance(lines["act_code"].dtype, pd.CategoricalDtype)
    coded = coefficient_table(lines, min_lines=3, min_peers=3)
    text = coefficient_table(lines.assign(act_code=lines["act_code"].astype(object)), min_lines=3, min_peers=3)
    assert len(coded) > 0
    pd.testing.assert_frame_equal(coded, text)


def test_care_pairs_are_expected_as_the_pairwise_model_expects_them(small_world):
    # The loops' comparison set: one fitted model evaluated on every pair equals the model fitted per call.
    import numpy as np

    from detectors.base import line_flags
    from detectors.loops import _CARE_TYPES, care_pair_expected
    from detectors.sharing import expected_shared

    lines = line_flags(encode_claims(small_world))
    exp = lines.loc[lines["expensive"] & lines["provider_type"].isin(_CARE_TYPES)]
    provs = np.sort(exp["provider_id"].astype(str).unique())
    a, b = np.triu_indices(len(provs), 1)
    assert len(a) > 0
    np.testing.assert_array_equal(care_pair_expected(lines), expected_shared(exp, provs[a], provs[b], robust=True))
