"""Cases on rings: open, status, assignee, disposition, comments, bundle; the weekly job's view."""

from __future__ import annotations

import zipfile

from casework.cases import case_status
from tests.web.conftest import RING_ID, RUN_ID


def test_a_ring_becomes_a_case_and_moves_through_statuses(as_role, filled):
    client = as_role("investigator")
    assert case_status(filled.home_path, RING_ID) is None
    assert client.post(f"/cases/{RING_ID}/open", data={"run": RUN_ID}).status_code == 302
    assert case_status(filled.home_path, RING_ID) == "open"
    client.post(f"/cases/{RING_ID}/update", data={"status": "referred", "assignee": "karim",
                                                  "disposition": "sent to the prosecutor"})
    client.post(f"/cases/{RING_ID}/comment", data={"body": "patients interviewed"})
    assert case_status(filled.home_path, RING_ID) == "referred"
    case = client.get("/api/cases").get_json()["cases"][0]
    assert (case["assignee"], case["disposition"], case["n_comments"]) == ("karim", "sent to the prosecutor", 1)
    page = client.get(f"/cases/{RING_ID}").get_data(as_text=True)
    assert "patients interviewed" in page
    assert "referred" in client.get("/rings?status=referred").get_data(as_text=True)
    assert RING_ID not in client.get("/rings?status=none").get_data(as_text=True)


def test_an_unknown_status_is_refused(as_role):
    client = as_role("investigator")
    client.post(f"/cases/{RING_ID}/open", data={"run": RUN_ID})
    assert client.post(f"/cases/{RING_ID}/update", data={"status": "closed"}).status_code == 400


def test_a_case_needs_an_existing_ring(as_role):
    assert as_role("investigator").post("/cases/NOPE/open").status_code == 404


def test_the_bundle_button_returns_a_zip(as_role):
    response = as_role("investigator").post(f"/rings/{RING_ID}/bundle", data={"run": RUN_ID})
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/zip"
    import io

    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        assert bundle.namelist()
