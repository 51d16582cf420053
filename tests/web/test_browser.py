"""End to end in headless Chromium: log in, open the top ring, expand a node, set a case status, log out."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.web.conftest import PASSWORD, RING_ID
from web import create_app

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "cytoscape.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

LIMIT = 3
# Reads the entity page's Cytoscape instance (window.shabakaGraphs): counts, the status line, the node
# `arg` (expanded? links left out?) and the first beneficiary not yet expanded with its rendered position.
GRAPH_STATE = """node => {
  const cy = window.shabakaGraphs["nb-graph"];
  const open = cy.nodes("[type = 'BENEFICIARY']").filter(n => !n.hasClass("expanded"))
                 .sort((a, b) => a.id().localeCompare(b.id()));
  const first = open.length ? open[0] : null;
  const pos = first ? first.renderedPosition() : {x: 0, y: 0};
  const it = node ? cy.getElementById(node) : null;
  return {nodes: cy.nodes().length, edges: cy.edges().map(e => e.id()),
          status: document.getElementById("nb-status").textContent,
          candidate: first ? first.id() : null, x: pos.x, y: pos.y,
          expanded: it ? it.hasClass("expanded") : false, more: it ? it.data("more") || 0 : 0};
}"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.needs_tool("chromium"),
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
        page.wait_for_selector("#nb-graph[data-ready='1'][data-expansions='1']", timeout=15000)
        assert "links shown" in page.text_content("#nb-status")
        # A small cap, so the node expanded below has more links than one expansion may show.
        page.fill("input[name=limit]", str(LIMIT))
        page.click("#nb-controls button[type=submit]")
        page.wait_for_selector("#nb-graph[data-ready='1'][data-expansions='1']", timeout=15000)
        before = page.evaluate(GRAPH_STATE, None)
        target = before["candidate"]
        assert target is not None and target.startswith("BENEFICIARY:")
        frame = page.locator("#nb-graph").bounding_box()
        x, y = frame["x"] + before["x"], frame["y"] + before["y"]
        page.mouse.click(x, y)
        page.wait_for_selector("#graph-info #nb-expand:not([disabled])", timeout=5000)
        assert target.split(":", 1)[1] in page.text_content("#graph-info")
        assert page.get_attribute("#nb-graph", "data-expansions") == "1"
        page.mouse.dblclick(x, y)
        page.wait_for_selector("#nb-graph[data-ready='1'][data-expansions='2']", timeout=15000)
        after = page.evaluate(GRAPH_STATE, target)
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
    added = set(after["edges"]) - set(before["edges"])
    assert after["expanded"] and after["nodes"] > before["nodes"]
    assert 0 < len(added) <= LIMIT and all(target in edge.split("|") for edge in added)
    assert after["more"] > 0
    assert after["status"].startswith(f"{after['nodes']} nodes, {len(after['edges'])} links shown; ")
    assert _hidden(after["status"]) == _hidden(before["status"]) + after["more"]
    assert errors == []


def _hidden(status: str) -> int:
    found = re.search(r"; (\d+) more not shown", status)
    return int(found.group(1)) if found else 0


def test_long_inputs_never_widen_or_break_the_page(server):
    """A 10,000-character comment, a 100-character search and a 200-character unknown id, as a user would type them."""
    from playwright.sync_api import sync_playwright

    word = "AMO" + "7" * 9_997  # one unbroken word
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server + "/login")
        page.fill("input[name=name]", "investigator")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(server + f"/rings/{RING_ID}")
        page.click("text=Make this ring a case")
        page.fill("textarea[name=body]", word)
        page.click("text=Add comment")
        page.wait_for_load_state("load")  # measured with the style sheet applied, not while it loads
        widths = {}
        widths["case"] = page.evaluate("document.documentElement.scrollWidth")
        assert word in page.content()
        page.fill("textarea[name=body]", word + "8")
        page.click("text=Add comment")
        assert page.locator("text=Request refused").is_visible()
        page.goto(server + "/entities?q=" + "Q" * 100)
        widths["search"] = page.evaluate("document.documentElement.scrollWidth")
        response = page.goto(server + "/entities/PROVIDER:" + "Z" * 200)
        assert response.status == 404
        widths["unknown"] = page.evaluate("document.documentElement.scrollWidth")
        response = page.goto(server + "/rings?page=-1")
        assert response.status == 400 and "page" in page.text_content("main")
        browser.close()
    assert all(width <= 1280 for width in widths.values()), widths
    assert errors == []
