"""Every page and API route, for every role."""

from __future__ import annotations

import pytest

from tests.web.conftest import OTHER_RING, RING_ID, ROLES, RUN_ID

PAGES = ["/", "/rings", f"/rings/{RING_ID}", "/entities?q=PRV", "/entities/PROVIDER:PRV-CLINIC-R", "/cases",
         "/api/runs", "/api/rings", f"/api/rings/{RING_ID}", f"/api/rings/{RING_ID}/claims",
         "/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood", "/api/search?q=PRV", "/api/cases"]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_every_role(as_role, role):
    client = as_role(role)
    assert {path: client.get(path).status_code for path in PAGES} == {path: 200 for path in PAGES}


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/users"])
def test_admin_pages_refuse_other_roles(as_role, path):
    assert as_role("admin").get(path).status_code == 200
    for role in ("analyst", "investigator"):
        response = as_role(role).get(path)
        assert response.status_code == 403
        assert b"Not allowed" in response.data


def test_analyst_sees_pseudonyms_never_beneficiary_ids(as_role, planted_ring):
    client = as_role("analyst")
    pages = [client.get(f"/rings/{RING_ID}").get_data(as_text=True),
             client.get(f"/api/rings/{RING_ID}").get_data(as_text=True),
             client.get(f"/api/rings/{RING_ID}/claims?size=100").get_data(as_text=True),
             client.get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood").get_data(as_text=True)]
    for text in pages:
        for bene in planted_ring["beneficiaries"]:
            assert bene not in text
        assert planted_ring["phone"] not in text
        assert "BEN~" in text


def test_pseudonyms_are_the_same_on_every_page(as_role):
    client = as_role("analyst")
    members = client.get(f"/api/rings/{RING_ID}").get_json()["members"]
    shown = {m["entity_id"] for m in members if m["entity_type"] == "BENEFICIARY"}
    claims = client.get(f"/api/rings/{RING_ID}/claims?size=100").get_json()["claims"]
    assert {c["beneficiary_id"] for c in claims} == shown


def test_analyst_can_follow_a_pseudonym_to_its_neighbourhood(as_role, planted_ring):
    client = as_role("analyst")
    members = client.get(f"/api/rings/{RING_ID}").get_json()["members"]
    bene = next(m["entity_id"] for m in members if m["entity_type"] == "BENEFICIARY")
    nb = client.get(f"/api/entities/BENEFICIARY:{bene}/neighbourhood").get_json()
    ids = {n["id"] for n in nb["nodes"]}
    assert "PROVIDER:PRV-CLINIC-R" in ids
    assert not any(b in str(nb) for b in planted_ring["beneficiaries"])


def test_analyst_cannot_use_a_raw_beneficiary_id(as_role):
    assert as_role("analyst").get("/api/entities/BENEFICIARY:BEN-R0/neighbourhood").status_code == 404


def test_investigator_sees_real_ids(as_role, planted_ring):
    text = as_role("investigator").get(f"/rings/{RING_ID}").get_data(as_text=True)
    assert all(b in text for b in planted_ring["beneficiaries"])


def test_ring_claims_are_the_rings_lines_only(as_role, planted_ring):
    data = as_role("investigator").get(f"/api/rings/{RING_ID}/claims?size=100").get_json()
    assert data["total"] == 16
    assert {c["beneficiary_id"] for c in data["claims"]} == planted_ring["beneficiaries"]


def test_ring_graph_links_members_with_amounts(as_role):
    elements = as_role("investigator").get(f"/api/rings/{RING_ID}").get_json()["elements"]
    edges = [e["data"] for e in elements if e["group"] == "edges"]
    assert any(e["source"] == "BENEFICIARY:BEN-R0" and e["target"] == "PROVIDER:PRV-CLINIC-R"
               and e["amount"] == 6000.0 for e in edges)
    clinic = next(e["data"] for e in elements if e["data"]["id"] == "PROVIDER:PRV-CLINIC-R")
    assert clinic["amount"] == pytest.approx(8 * 6000.0)  # claimed at the clinic by its 8 patients
    assert {"CLAIMED_AT", "WORKS_AT", "TREATED"} <= {e["edge_type"] for e in edges}  # the graph's edge types


def test_ring_list_filters_and_pages(app, as_role):
    client = as_role("investigator")
    assert [r["ring_id"] for r in client.get("/api/rings?min_score=5").get_json()["rings"]] == [RING_ID]
    assert [r["ring_id"] for r in client.get("/api/rings?region=08").get_json()["rings"]] == [RING_ID]
    assert [r["ring_id"] for r in client.get("/api/rings?regime=SALARIES").get_json()["rings"]] == [OTHER_RING]
    assert [r["ring_id"] for r in client.get("/api/rings?scenario=kickback_loop").get_json()["rings"]] == [OTHER_RING]
    app.config["PAGE_SIZE"] = 1
    second = client.get("/api/rings?page=2").get_json()
    assert (second["pages"], [r["ring_id"] for r in second["rings"]]) == (2, [OTHER_RING])
    assert client.get("/api/rings?page=x").status_code == 400


def test_neighbourhood_is_capped_and_says_how_many_are_hidden(as_role):
    data = as_role("investigator").get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?limit=3").get_json()
    assert len(data["edges"]) == 3
    assert data["omitted"] > 0


def test_neighbourhood_time_filter_drops_edges_outside_the_window(as_role):
    client = as_role("investigator")
    inside = client.get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?from=2025-03-12&to=2025-03-12")
    outside = client.get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?from=2025-04-01&to=2025-04-30")
    assert len(inside.get_json()["edges"]) > 0
    assert outside.status_code == 404 or len(outside.get_json()["edges"]) == 0
    assert client.get("/api/entities/PROVIDER:PRV-CLINIC-R/neighbourhood?from=soon").status_code == 400


def test_unknown_ring_and_run_are_404(as_role):
    client = as_role("investigator")
    assert client.get("/rings/NOPE").status_code == 404
    assert client.get("/api/rings/NOPE").get_json()["error"] == "Not found"
    assert client.get("/rings?run=NOPE").status_code == 404


def test_runs_overview_lists_the_run(as_role):
    text = as_role("analyst").get("/").get_data(as_text=True)
    assert RUN_ID in text and "52,150.00 MAD" in text


def test_search_by_id_finds_the_provider(as_role):
    results = as_role("investigator").get("/api/search?q=PRV-CLINIC-R").get_json()["results"]
    assert results[0]["node_id"] == "PROVIDER:PRV-CLINIC-R"


def test_entity_page_shows_the_register_entry_of_a_provider_or_doctor(filled, as_role, tmp_path):
    from ingest.store import ClaimsStore

    register = tmp_path / "providers.csv"
    register.write_text("provider_id,name,provider_type,region,city,latitude,longitude\n"
                        "PRV-CLINIC-R,Clinique Al Amal,CLINIC,06,Casablanca,33.57,-7.59\n", encoding="utf-8")
    with ClaimsStore(filled.home_path) as store:
        store.ingest([], providers=register)
    client = as_role("analyst")
    clinic = client.get("/entities/PROVIDER:PRV-CLINIC-R").get_data(as_text=True)
    for shown in ("Clinique Al Amal", "Casablanca", "clinic", "06 Casablanca-Settat"):
        assert shown in clinic
    # Not in the providers file: the doctor's specialty still comes from its claim lines.
    doctor = client.get("/entities/DOCTOR:DOC-R").get_data(as_text=True)
    assert "chirurgie generale" in doctor and 'class="profile"' in doctor and "Casablanca" not in doctor
    assert 'class="profile"' not in as_role("investigator").get("/entities/PHONE:PHONE-R").get_data(as_text=True)
    # A search names the providers the graph found too, from the providers file.
    found = {r["entity_id"]: r["label"] for r in client.get("/api/search?q=CLINIC").get_json()["results"]}
    assert found["PRV-CLINIC-R"] == "Clinique Al Amal" and found["PRV-CLINIC-A"] == "PRV-CLINIC-A"
