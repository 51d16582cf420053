"""Bounded work per request: unknown ids read nothing, every list and read has a cap."""

from __future__ import annotations

import pandas as pd
import pytest

import web.api
import web.runs
from casework.cases import CaseStore
from casework.runs import RunStore
from ingest.store import ClaimsStore
from tests.web.conftest import RUN_ID
from tests.web.test_inputs import UNKNOWN_ENTITIES


@pytest.fixture
def claims_reads(monkeypatch):
    """Every ClaimsStore.claims call of the test: its keyword arguments and how many lines it returned."""
    reads = []
    real = ClaimsStore.claims

    def spy(self, *args, **kwargs):
        lines = real(self, *args, **kwargs)
        reads.append({**kwargs, "returned": len(lines)})
        return lines
    monkeypatch.setattr(ClaimsStore, "claims", spy)
    return reads


@pytest.mark.parametrize("node", UNKNOWN_ENTITIES, ids=lambda n: n[:20])
def test_unknown_nodes_are_404_before_any_claim_is_read(as_role, claims_reads, node):
    client = as_role("investigator")
    assert client.get(f"/api/entities/{node}/neighbourhood?hops=3").status_code == 404
    assert client.get(f"/entities/{node}").status_code == 404
    assert claims_reads == []


def _drop_from_graph(home, node_id):
    from graph.sqlite_store import SqliteGraphStore

    with SqliteGraphStore(home) as graph:
        graph._conn.execute("DELETE FROM nodes WHERE node_id = ?", (node_id,))
        graph._conn.commit()


def test_an_entity_missing_from_the_graph_reads_at_most_the_line_cap(as_role, filled, claims_reads, monkeypatch):
    _drop_from_graph(filled.home_path, "PROVIDER:PRV-CLINIC-R")
    client = as_role("investigator")
    whole = client.get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?hops=2").get_json()
    assert whole["source"] == "claims" and whole["lines_capped"] is False
    read_in_all = sum(r["returned"] for r in claims_reads)
    assert read_in_all > 6
    claims_reads.clear()
    monkeypatch.setattr(web.api, "CLAIM_LINES_CAP", 6)
    capped = client.get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?hops=2").get_json()
    assert capped["lines_capped"] is True
    assert all(r["limit"] is not None and r["limit"] <= 7 for r in claims_reads)
    assert len(capped["edges"]) < len(whole["edges"])


def test_the_case_list_is_paged(as_role, filled):
    with CaseStore(filled.home_path) as cases:
        for k in range(30):
            cases.open_case(f"RING-P{k:02d}", actor="karim")
    client = as_role("investigator")
    first = client.get("/api/cases").get_json()
    second = client.get("/api/cases?page=2").get_json()
    assert (len(first["cases"]), len(second["cases"])) == (25, 5)
    assert (first["total"], first["pages"], second["page"]) == (30, 2, 2)
    assert not {c["ring_id"] for c in first["cases"]} & {c["ring_id"] for c in second["cases"]}
    assert len(client.get("/api/cases?page=9").get_json()["cases"]) == 5  # past the last: the last
    page = client.get("/cases?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in page and page.count("/cases/RING-P") == 5
    assert client.get("/api/cases?page=0").status_code == 400


def test_the_runs_list_is_capped_to_the_newest(as_role, filled, monkeypatch):
    with RunStore(filled.home_path) as runs:
        rings = runs.rings(RUN_ID).drop(columns=["run_id"])
        runs.save_run("run-2025-W12", kind="weekly", version="test", params={}, batches=[], rings=rings.iloc[0:0],
                      members=pd.DataFrame(columns=["ring_id", "entity_type", "entity_id", "role", "score",
                                                    "evidence"]),
                      entity_scores=pd.DataFrame(columns=["entity_type", "entity_id", "score", "top_reason"]),
                      week="2025-W12", window=("2025-01-01", "2025-12-31"))
        newest = runs.latest_run_id()
        assert newest == runs.runs().iloc[0]["run_id"] == "run-2025-W12"
        assert runs.latest_run_id("detect") is None
    monkeypatch.setattr(web.runs, "RUNS_SHOWN", 1)
    monkeypatch.setattr(web.api, "RUNS_SHOWN", 1)
    client = as_role("investigator")
    assert [r["run_id"] for r in client.get("/api/runs").get_json()["runs"]] == [newest]
    page = client.get("/").get_data(as_text=True)
    assert newest in page and sum(r in page for r in (RUN_ID, "run-2025-W12")) == 1


def test_search_reads_providers_with_a_limit(as_role, monkeypatch):
    calls = []
    real = ClaimsStore.providers

    def spy(self, **kwargs):
        calls.append(kwargs)
        return real(self, **kwargs)
    monkeypatch.setattr(ClaimsStore, "providers", spy)
    assert as_role("investigator").get("/api/search?q=zz-nothing&limit=7").status_code == 200
    assert calls == [{"matching": "zz-nothing", "limit": 7}]
