"""In headless Chromium: the ring page's regions map and week-over-week panel, drawn offline."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.web.conftest import PASSWORD, RING_ID, second_run
from web import create_app
from web.region_map import OUTLINES_FILE

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.needs_tool("chromium")]

MAP_STATE = """() => {
  const svg = document.querySelector("svg.region-map");
  const box = svg.getBoundingClientRect();
  const regions = [...svg.querySelectorAll(".region")].map(r => {
    const b = r.getBBox();
    return {code: r.dataset.region, w: b.width, h: b.height, tag: r.tagName, title: r.querySelector("title").textContent};
  });
  return {width: box.width, height: box.height, regions: regions,
          flows: svg.querySelectorAll(".flow").length, providers: svg.querySelectorAll(".provider").length,
          scroll: document.documentElement.scrollWidth, inner: window.innerWidth};
}"""


@pytest.fixture
def server(filled):
    app = create_app({"SHABAKA_SETTINGS": filled})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=10)


def test_ring_map_draws_the_twelve_regions_offline(server, filled):
    from playwright.sync_api import sync_playwright

    run2 = second_run(filled.home_path, drop="BEN-R0", add=("BENEFICIARY", "BEN-000", "recruited_patient"),
                       amount=61840.0)

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: requests.append(req.url))
        page.goto(server + "/")
        page.fill("input[name=name]", "investigator")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{server}/rings/{RING_ID}?run={run2}")
        page.wait_for_selector("svg.region-map")
        page.add_style_tag(content="header.top { position: static; }")  # keep it off the element screenshots
        state = page.evaluate(MAP_STATE)
        week = page.text_content("#week-over-week")
        page.locator("#geography").screenshot(path=str(ARTIFACTS / "web-ring-map.png"))
        page.locator("#week-over-week").screenshot(path=str(ARTIFACTS / "web-ring-week.png"))
        browser.close()
    assert not errors
    assert all(url.startswith(server) or url.startswith("data:") for url in requests), requests
    assert state["width"] > 300 and state["height"] > 300
    assert sorted(r["code"] for r in state["regions"]) == [f"{i:02d}" for i in range(1, 13)]
    assert all(r["w"] > 5 and r["h"] > 5 for r in state["regions"]), state["regions"]
    assert {r["tag"] for r in state["regions"]} == ({"path"} if OUTLINES_FILE.exists() else {"circle"})
    assert any("of the ring's patients live here" in r["title"] for r in state["regions"])
    assert state["providers"] >= 1
    assert state["scroll"] <= state["inner"]
    assert re.search(r"New members\s*1\s*Removed\s*1", week), week
    assert "+10,000 MAD" in week and "grown" in week
