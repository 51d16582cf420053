"""``shabaka generate`` writes the three files and refuses bad arguments."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from ingest.schema import CLAIM_COLUMNS
from shabaka.cli.generate_cmd import generate
from ground.errors import InputRefused


def test_generate_command_writes_claims_providers_and_labels(tmp_path):
    result = CliRunner().invoke(generate, ["--out", str(tmp_path), "--scale", "0.02", "--weeks", "2",
                                           "--seed", "1", "--camouflage", "0.3", "--start", "2025-03-03"])
    assert result.exit_code == 0, result.output
    for name in ("claims.csv.gz", "providers.csv", "labels.csv"):
        assert (tmp_path / name).stat().st_size > 0
    claims = pd.read_csv(tmp_path / "claims.csv.gz", dtype=str)
    assert tuple(claims.columns) == CLAIM_COLUMNS
    assert claims.service_date.min() == "2025-03-03"
    assert "week 2/2" in result.output


def test_generate_command_refuses_a_camouflage_above_one(tmp_path):
    result = CliRunner().invoke(generate, ["--out", str(tmp_path), "--scale", "0.02", "--camouflage", "2"])
    assert isinstance(result.exception, InputRefused)
    assert not (tmp_path / "claims.csv.gz").exists()
