"""``shabaka graph build | push | show`` on a real claims store."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from click.testing import CliRunner

from shabaka.cli import cli


@pytest.fixture
def home(tmp_path, tiny_claims):
    from ingest.store import ClaimsStore

    home = tmp_path / "home"
    path = tmp_path / "claims.csv"
    tiny_claims.to_csv(path, index=False, date_format="%Y-%m-%d")
    with ClaimsStore(home) as store:
        report = store.ingest([path])
    assert report.loaded == len(tiny_claims)
    return home


def _run(home, *args):
    return CliRunner().invoke(cli, ["--home", str(home), "graph", *args], catch_exceptions=False)


def test_build_then_show_the_ring_clinic_as_json(home):
    built = _run(home, "build")
    assert built.exit_code == 0, built.output
    assert "INTERMEDIARY" in built.output and "BENEFICIARY" in built.output
    shown = _run(home, "show", "PRV-CLINIC-R", "--limit", "3")
    data = json.loads(shown.output)
    assert data["omitted"] == 6
    assert len(data["edges"]) == 3


def test_build_with_a_window_keeps_only_its_claims(home):
    from ground.errors import NotFound

    assert _run(home, "build", "--from", "2025-03-01", "--to", "2025-03-11").exit_code == 0
    data = json.loads(_run(home, "show", "PROVIDER:PRV-CLINIC-A").output)
    assert all(e["last_date"] <= "2025-03-11" for e in data["edges"])
    assert sum(e["edge_type"] == "CLAIMED_AT" for e in data["edges"]) == 4
    with pytest.raises(NotFound):
        _run(home, "show", "PRV-CLINIC-R")


def test_show_writes_graphml_to_a_file(home, tmp_path):
    _run(home, "build")
    out = tmp_path / "ring.graphml"
    result = _run(home, "show", "DOC-R", "--hops", "2", "--format", "graphml", "--out", str(out))
    assert result.exit_code == 0
    G = nx.read_graphml(out)
    assert "PROVIDER:PRV-LAB-R" in G


def test_show_refuses_a_folder_format_without_out(home):
    from ground.errors import InputRefused

    _run(home, "build")
    with pytest.raises(InputRefused):
        _run(home, "show", "DOC-R", "--format", "gephi-csv")


def test_push_without_neo4j_is_a_clear_config_error(home):
    from ground.errors import ConfigError

    with pytest.raises(ConfigError, match="SHABAKA_NEO4J_URI"):
        _run(home, "push")
