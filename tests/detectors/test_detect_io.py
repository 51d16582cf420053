"""Findings files follow the findings contract and are written atomically."""

from __future__ import annotations

import pandas as pd
import pytest

from detectors.io import read_findings, write_findings
from ground.errors import InputRefused, NotFound

CONTRACT = {
    "rings.csv": ["ring_id", "rank", "score", "size", "amount_at_risk", "summary"],
    "members.csv": ["ring_id", "entity_type", "entity_id", "role", "score", "evidence"],
    "entity_scores.csv": ["entity_type", "entity_id", "score", "top_reason"],
}


def test_files_carry_the_contract_columns_first(pattern_result, tmp_path):
    out = write_findings(pattern_result, tmp_path / "findings")
    for name, cols in CONTRACT.items():
        frame = pd.read_csv(out / name)
        assert list(frame.columns[: len(cols)]) == cols
    rings = pd.read_csv(out / "rings.csv")
    assert {"scenario", "regions", "regimes"} <= set(rings.columns)
    scores = pd.read_csv(out / "entity_scores.csv")
    assert set(scores["entity_type"]) <= {"PROVIDER", "DOCTOR", "INTERMEDIARY"}


def test_rewrite_replaces_the_files_and_leaves_no_temporary_folder(pattern_result, tmp_path):
    out = tmp_path / "findings"
    write_findings(pattern_result, out)
    (out / "notes.txt").write_text("kept")
    write_findings(pattern_result, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings"]
    assert (out / "notes.txt").read_text() == "kept"
    back = read_findings(out)
    assert back["rings"]["ring_id"].tolist() == pattern_result.rings["ring_id"].tolist()
    assert back["members"]["entity_id"].tolist() == pattern_result.members["entity_id"].tolist()


def test_reading_a_folder_without_findings_is_refused(tmp_path):
    with pytest.raises(NotFound, match="rings.csv"):
        read_findings(tmp_path)
    for name in CONTRACT:
        pd.DataFrame({"x": [1]}).to_csv(tmp_path / name, index=False)
    with pytest.raises(InputRefused, match="missing column"):
        read_findings(tmp_path)
