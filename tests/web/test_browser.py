"""End to end in headless Chromium: log in, open the top ring, expand a node, set a case status, log out."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.web.conftest import PASSWORD, RING_ID
from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "cytoscape.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed"),
    pytest.mark.skipif(not VENDOR.exists(), reason="Cytoscape.js not vendored: run `bash web/vendor.sh`"),
]


@pytest.fixture
def server(filled):
    app = create_app({"SHABAKA_SETTINGS": filled})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=10)


def test_investigator_walkthrough(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server + "/")
        page.fill("input[name=name]", "investigator")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.click("header nav >> text=Rings")
        page.screenshot(path=str(ARTIFACTS / "web-rings.png"), full_page=True)
        page.click(f"a:text('{RING_ID}')")
        page.wait_for_selector("#ring-graph[data-ready='1']", timeout=15000)
        page.screenshot(path=str(ARTIFACTS / "web-ring.png"), full_page=True)
        page.goto(server + "/entities/PROVIDER:PRV-CLINIC-R")
        page.wait_for_selector("#nb-graph[data-ready='1']", timeout=15000)
        before = page.evaluate("document.getElementById('nb-status').textContent")
        page.fill("input[name=limit]", "5")
        page.click("#nb-controls button[type=submit]")
        page.wait_for_selector("#nb-status:has-text('more not shown')", timeout=15000)
        page.screenshot(path=str(ARTIFACTS / "web-entity.png"), full_page=True)
        page.goto(server + f"/rings/{RING_ID}")
        page.click("text=Make this ring a case")
        page.select_option("#case-status", "in_progress")
        page.click("#case-save")
        assert page.locator(".badge.status-in_progress").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / "web-case.png"), full_page=True)
        page.click("text=Log out")
        assert "/login" in page.url
        browser.close()
    assert "links shown" in before
    assert errors == []
