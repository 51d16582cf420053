"""Strict inputs: unknown ids are 404, every parameter is checked in one place (400 naming it), nothing gives 500."""

from __future__ import annotations

import pytest

from ingest.store import ClaimsStore
from tests.web.conftest import RING_ID, RUN_ID
from web.params import FIELDS, PARAMS

UNKNOWN_ENTITIES = ["PROVIDER:NOPE", "FOO:bar", "nocolon", "PROVIDER:", ":x", "BENEFICIARY:NOPE",
                    "PROVIDER:" + "x" * 300_000]


@pytest.mark.parametrize("role", ["analyst", "investigator"])
@pytest.mark.parametrize("node", UNKNOWN_ENTITIES, ids=lambda n: n[:20])
def test_unknown_entities_are_404_on_pages_and_api(as_role, role, node):
    client = as_role(role)
    assert client.get(f"/entities/{node}").status_code == 404
    response = client.get(f"/api/entities/{node}/neighbourhood")
    assert response.status_code == 404 and response.get_json()["error"] == "Not found"


def test_an_unknown_node_is_refused_without_reading_any_claim(as_role, monkeypatch):
    def no_reading(*args, **kwargs):
        raise AssertionError("the claims were read")
    monkeypatch.setattr(ClaimsStore, "claims", no_reading)
    client = as_role("investigator")
    assert client.get("/api/entities/PROVIDER:NOPE/neighbourhood").status_code == 404
    assert client.get("/entities/PROVIDER:NOPE").status_code == 404


def test_an_entity_of_the_findings_missing_from_the_graph_reads_only_its_own_lines(as_role, filled, monkeypatch):
    from graph.sqlite_store import SqliteGraphStore

    with SqliteGraphStore(filled.home_path) as graph:
        graph._conn.execute("DELETE FROM nodes WHERE node_id = 'PROVIDER:PRV-CLINIC-R'")
        graph._conn.commit()
    reads = []
    real = ClaimsStore.claims

    def spy(self, *args, **kwargs):
        reads.append(kwargs.get("any_of"))
        return real(self, *args, **kwargs)
    monkeypatch.setattr(ClaimsStore, "claims", spy)
    data = as_role("investigator").get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?hops=2").get_json()
    assert data["source"] == "claims" and len(data["edges"]) > 0
    assert reads and all(r for r in reads)  # every read named the ids it wanted
    assert reads[0] == {"provider_id": {"PRV-CLINIC-R"}}


def test_unknown_ring_run_and_case_are_404(as_role):
    client = as_role("investigator")
    for path in ["/rings/NOPE", f"/rings/{RING_ID}?run=NOPE", "/api/rings/NOPE", "/api/rings/NOPE/claims",
                 "/cases/NOPE", "/rings?run=NOPE", "/api/rings?run=NOPE", f"/rings/{'R' * 300_000}",
                 f"/cases/{'R' * 5000}"]:
        assert client.get(path).status_code == 404, path
    assert client.post("/cases/NOPE/open").status_code == 404
    assert client.post("/cases/NOPE/comment", data={"body": "x"}).status_code == 404


BAD_VALUES = {
    "page": ["-1", "0", "abc", "1.5", "100001"], "cpage": ["-1", "0", "x"], "size": ["0", "-5", "501", "1e3"],
    "hops": ["0", "9", "-1", "two"], "limit": ["-5", "0", "2001"], "min_score": ["nan", "inf", "-inf", "x"],
    "status": ["bogus", "OPEN"], "from": ["soon", "2025-13-40"], "to": ["2025-02-30"],
}
ROUTES_OF = {
    "page": ["/rings", "/api/rings", f"/api/rings/{RING_ID}/claims", "/admin/audit"],
    "cpage": [f"/rings/{RING_ID}"],
    "size": [f"/api/rings/{RING_ID}/claims"],
    "hops": ["/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood"],
    "limit": ["/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood"],
    "min_score": ["/rings", "/api/rings"],
    "status": ["/rings", "/api/rings", "/cases", "/api/cases"],
    "from": ["/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood"],
    "to": ["/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood"],
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_every_bad_parameter_is_a_400_naming_it_and_its_range(as_role, name):
    client = as_role("admin")
    for path in ROUTES_OF[name]:
        for value in BAD_VALUES[name]:
            response = client.get(path, query_string={name: value})
            assert response.status_code == 400, (path, name, value)
            text = response.get_data(as_text=True)
            assert f"{name} " in text and "expected" in text, (path, name, value)


def test_messages_say_the_allowed_range(as_role):
    client = as_role("investigator")
    assert "from 1 to 3" in client.get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?hops=9").get_json()["detail"]
    assert "from 1 to 500" in client.get(f"/api/rings/{RING_ID}/claims?size=0").get_json()["detail"]
    detail = client.get("/api/rings?status=bogus").get_json()["detail"]
    assert "open" in detail and "none" in detail


def test_good_values_at_the_edges_are_accepted(as_role):
    client = as_role("investigator")
    for path in [f"/api/rings/{RING_ID}/claims?size=1&page=100000", f"/api/rings/{RING_ID}/claims?size=500",
                 "/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?hops=3&limit=1",
                 "/api/rings?min_score=-3.5&status=none", "/rings?status=open", f"/rings/{RING_ID}?cpage=9"]:
        assert client.get(path).status_code == 200, path
    assert client.get(f"/api/rings/{RING_ID}/claims?size=1&page=100000").get_json()["page"] == 16


def test_every_query_parameter_and_form_field_is_declared_once(app):
    assert {key for key, _ in PARAMS.values()} >= {"page", "cpage", "size", "hops", "limit", "min_score", "status",
                                                   "region", "regime", "scenario", "run", "q", "from", "to"}
    assert {"status", "assignee", "disposition", "body"} <= set(FIELDS)


def test_comments_and_case_fields_have_size_limits(as_role):
    client = as_role("investigator")
    client.post(f"/cases/{RING_ID}/open")
    assert client.post(f"/cases/{RING_ID}/comment", data={"body": "x" * 10_001}).status_code == 400
    assert client.post(f"/cases/{RING_ID}/comment", data={"body": "x" * 10_000}).status_code == 302
    assert client.post(f"/cases/{RING_ID}/update", data={"disposition": "y" * 4001}).status_code == 400
    assert client.post(f"/cases/{RING_ID}/update", data={"assignee": "z" * 65}).status_code == 400
    assert client.post(f"/cases/{RING_ID}/update", data={"status": "bogus"}).status_code == 400
    big = client.post(f"/cases/{RING_ID}/comment", data={"body": "x" * 900_000})
    assert big.status_code == 400


NASTY = ["", " ", "x" * 5000, "%", "_", "\\", "'; DROP TABLE cases; --", "<script>alert(1)</script>", "\u0000",
         "\ud7ff\uffff", "../../etc/passwd", "-0", "1" * 400, "NaN", "1e309", "٣", "PROVIDER:PRV-CLINIC-R"]
GET_ROUTES = ["/", "/rings", f"/rings/{RING_ID}", "/entities", "/entities/PROVIDER:PRV-CLINIC-R", "/cases",
              f"/cases/{RING_ID}", "/admin/audit", "/admin/users", "/api/runs", "/api/rings", f"/api/rings/{RING_ID}",
              f"/api/rings/{RING_ID}/claims", "/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood", "/api/search",
              "/api/cases"]


def test_no_query_value_gives_a_server_error(as_role):
    client = as_role("admin")
    client.post(f"/cases/{RING_ID}/open")
    keys = sorted({key for key, _ in PARAMS.values()})
    for path in GET_ROUTES:
        for value in NASTY:
            response = client.get(path, query_string={key: value for key in keys})
            assert response.status_code < 500, (path, value[:20], response.status_code)


def test_no_form_value_gives_a_server_error(as_role):
    client = as_role("admin")
    client.post(f"/cases/{RING_ID}/open", data={"run": RUN_ID})
    for value in NASTY:
        for path, data in [(f"/cases/{RING_ID}/update", {"status": value, "assignee": value, "disposition": value}),
                           (f"/cases/{RING_ID}/comment", {"body": value}),
                           ("/admin/users", {"name": value, "role": value, "password": value}),
                           (f"/cases/{RING_ID}/open", {"run": value})]:
            response = client.post(path, data=data)
            assert response.status_code < 500, (path, value[:20], response.status_code)
