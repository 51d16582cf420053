"""End to end in headless Chromium: log in, open the top ring, expand a node, set a case status, log out."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
from werkzeug.serving import make_server

from casework.ringpages import write_ring_pages
from casework.runs import RunStore
from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES
from tests.conftest import _line
from tests.web.conftest import PASSWORD, RING_ID
from web import create_app
from web.story import page_story

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
SCRIPTS = ("cytoscape.min.js", "layout-base.js", "cose-base.js", "cytoscape-fcose.js")
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
    pytest.mark.skipif(not all((VENDOR / name).exists() for name in SCRIPTS),
                       reason="Cytoscape.js and fcose not vendored: run `bash web/vendor.sh`"),
]


def watch(page) -> list[str]:
    """Every console message (any level) and uncaught page error of ``page``, as they come."""
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(f"console {msg.type}: {msg.text} ({page.url})"))
    page.on("pageerror", lambda exc: seen.append(f"page error: {exc} ({page.url})"))
    return seen


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
        page = browser.new_page(viewport={"width": 1366, "height": 1000})
        errors = watch(page)
        page.goto(server + "/")
        page.fill("input[name=name]", "investigator")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.click("header nav >> text=Rings")
        page.click(f"a:text('{RING_ID}')")
        page.wait_for_selector("#ring-graph[data-ready='1']", timeout=15000)
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
        page.screenshot(path=str(ARTIFACTS / "web-1366-entity-expanded.png"), full_page=True)
        page.goto(server + f"/rings/{RING_ID}")
        page.click("text=Make this ring a case")
        page.select_option("#case-status", "in_progress")
        page.click("#case-save")
        assert page.locator(".badge.status-in_progress").first.is_visible()
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
        # Measured only once the answer has loaded with its styles (under load a click returns first).
        with page.expect_navigation(wait_until="load"):
            page.click("text=Add comment")
        widths = {}
        widths["case"] = page.evaluate("document.documentElement.scrollWidth")
        assert word in page.content()
        page.fill("textarea[name=body]", word + "8")
        with page.expect_navigation(wait_until="load"):
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


PROVIDERS_CSV = """provider_id,name,provider_type,region,city,latitude,longitude
PRV-CLINIC-R,Clinique Al Amal,CLINIC,06,Casablanca,33.57,-7.59
DOC-R,Dr Salma Bennani,DOCTOR,06,Mohammedia,33.68,-7.38
"""
# (file name, path, what to wait for); the case pages come after the ring is made a case.
PAGES = [
    ("login", "/login", None),
    ("runs", "/", None),
    ("rings", "/rings", None),
    ("ring", f"/rings/{RING_ID}", "#ring-graph[data-ready='1']"),
    ("entity-provider", "/entities/PROVIDER:PRV-CLINIC-R", "#nb-graph[data-ready='1']"),
    ("entity-doctor", "/entities/DOCTOR:DOC-R", "#nb-graph[data-ready='1']"),
    ("entity-beneficiary", "/entities/BENEFICIARY:BEN-R1", "#nb-graph[data-ready='1']"),
    ("search", "/entities?q=PRV", None),
    ("cases", "/cases", None),
    ("case", f"/cases/{RING_ID}", None),
    ("audit", "/admin/audit", None),
    ("users", "/admin/users", None),
]
WIDTH = 1366


def _sign_in(page, name: str) -> None:
    """Sign in on the login page shown, and wait until the page it leads to has loaded."""
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.click("button[type=submit]")


def _fits(page) -> dict:
    return page.evaluate("({scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
                         " inner: window.innerWidth})")


def test_every_page_fits_1366_without_a_console_message(server, filled):
    """Each page at 1366 px: no horizontal overflow, no console message or page error; a screenshot of each."""
    from playwright.sync_api import sync_playwright

    from ingest.store import ClaimsStore

    register = filled.home_path / "providers.csv"
    register.write_text(PROVIDERS_CSV, encoding="utf-8")
    with ClaimsStore(filled.home_path) as store:
        store.ingest([], providers=register)
    ARTIFACTS.mkdir(exist_ok=True)
    widths, profiles = {}, {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        seen = watch(page)
        for name, path, ready in PAGES:
            if name == "runs":
                _sign_in(page, "admin")
            if name == "cases":
                page.goto(server + f"/rings/{RING_ID}")
                with page.expect_navigation(wait_until="load"):
                    page.click("text=Make this ring a case")
            response = page.goto(server + path)
            assert response.status == 200, (path, response.status)
            if ready:
                page.wait_for_selector(ready, timeout=20000)
            if name.startswith("entity"):
                profiles[name] = page.text_content("main h1") + " | " + (
                    page.text_content(".profile") if page.locator(".profile").count() else "")
            widths[name] = _fits(page)
            page.screenshot(path=str(ARTIFACTS / f"web-1366-{name}.png"), full_page=True)
        # An analyst's pages carry pseudonyms (longer than the ids): the ring and a patient's page.
        with page.expect_navigation(wait_until="load"):
            page.click("text=Log out")
        _sign_in(page, "analyst")
        page.goto(server + f"/rings/{RING_ID}")
        page.wait_for_selector("#ring-graph[data-ready='1']", timeout=20000)
        widths["ring-analyst"] = _fits(page)
        page.screenshot(path=str(ARTIFACTS / "web-1366-ring-analyst.png"), full_page=True)
        patient = page.get_attribute("a[href*='BENEFICIARY:BEN~']", "href")
        page.goto(server + patient)
        page.wait_for_selector("#nb-graph[data-ready='1']", timeout=20000)
        widths["entity-analyst"] = _fits(page)
        page.screenshot(path=str(ARTIFACTS / "web-1366-entity-analyst.png"), full_page=True)
        # A 500-character search typed into the header's box, as a user pastes it: the box keeps 100.
        page.fill("header .search input", "Q" * 500)
        page.press("header .search input", "Enter")
        page.wait_for_load_state()
        assert page.url.endswith("q=" + "Q" * 100)
        widths["search-500"] = _fits(page)
        page.screenshot(path=str(ARTIFACTS / "web-1366-search-500.png"), full_page=True)
        quiet = list(seen)
        # The same 500 characters in the URL: refused (400) on a page that still fits; the only
        # console line is Chromium's note of that status.
        response = page.goto(server + "/entities?q=" + "Q" * 500)
        assert response.status == 400 and "100" in page.text_content("main")
        widths["search-500-url"] = _fits(page)
        page.screenshot(path=str(ARTIFACTS / "web-1366-search-500-url.png"), full_page=True)
        browser.close()
    assert quiet == [], quiet
    assert [line for line in seen[len(quiet):]
            if "the server responded with a status of 400" not in line] == []
    over = {name: w for name, w in widths.items() if max(w["scroll"], w["body"]) > w["inner"]}
    assert over == {}, over
    assert all(w["inner"] == WIDTH for w in widths.values())
    assert "Clinique Al Amal" in profiles["entity-provider"] and "Casablanca" in profiles["entity-provider"]
    assert "clinic" in profiles["entity-provider"] and "06 Casablanca-Settat" in profiles["entity-provider"]
    assert "Dr Salma Bennani" in profiles["entity-doctor"] and "chirurgie generale" in profiles["entity-doctor"]
    assert "Mohammedia" in profiles["entity-doctor"]
    assert "Name" not in profiles["entity-beneficiary"]


# Reads the ring page's drawing: per node its type, tier, size, rendered box (with label), label size
# on screen and whether it is drawn; per edge its amount and width; the canvas and the nodes' extent.
RING_DRAWING = """() => {
  const cy = window.shabakaGraphs["ring-graph"];
  const z = cy.zoom();
  const nodes = cy.nodes().map(n => {
    const b = n.renderedBoundingBox({includeLabels: true});
    return {id: n.id(), type: n.data("type"), role: n.data("role"), tier: n.data("tier"), size: n.data("size"),
            x: n.renderedPosition().x, box: [b.x1, b.y1, b.x2, b.y2],
            font: parseFloat(n.style("font-size")) * z, label: n.style("label"),
            // Cytoscape draws no label whose size on screen is under min-zoomed-font-size.
            shown: parseFloat(n.style("font-size")) * z >= parseFloat(n.style("min-zoomed-font-size"))};
  });
  const edges = cy.edges().map(e => ({amount: e.data("amount"), width: parseFloat(e.style("width"))}));
  const extent = cy.nodes().renderedBoundingBox({includeLabels: false});
  return {nodes, edges, zoom: z, w: cy.width(), h: cy.height(), extent: [extent.x1, extent.y1, extent.x2, extent.y2],
          legend: document.getElementById("legend").textContent};
}"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_ring_graph_reads_itself(server):
    """The ring's drawing fills the canvas, puts recruiters left of patients left of the clinics, sizes
    nodes by role, widths by amount, keeps hub labels at 13 px on screen, and carries a legend."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        seen = watch(page)
        page.goto(server + "/login")
        _sign_in(page, "investigator")
        page.goto(server + f"/rings/{RING_ID}")
        page.wait_for_selector("#ring-graph[data-ready='1']", timeout=20000)
        drawn = page.evaluate(RING_DRAWING)
        again = page.reload() and page.wait_for_selector("#ring-graph[data-ready='1']", timeout=20000)
        redrawn = page.evaluate(RING_DRAWING)
        # Zoomed out by half, hub labels stay 13 px on screen; patients' labels go (under 9 px).
        page.evaluate("""() => { const cy = window.shabakaGraphs["ring-graph"]; cy.zoom(cy.zoom() / 2); }""")
        page.wait_for_timeout(200)
        zoomed = page.evaluate(RING_DRAWING)
        browser.close()
    assert again is not None and seen == [], seen
    nodes = drawn["nodes"]
    by_tier = {tier: [n for n in nodes if n["tier"] == tier] for tier in ("hub", "link", "patient")}
    patients, hubs = by_tier["patient"], by_tier["hub"]
    assert len(patients) == 8 and {n["type"] for n in hubs} >= {"PROVIDER", "DOCTOR", "PHONE"}
    # The canvas is used: the nodes span most of its width and height.
    x1, y1, x2, y2 = drawn["extent"]
    assert (x2 - x1) > 0.6 * drawn["w"] and (y2 - y1) > 0.5 * drawn["h"], drawn["extent"]
    assert 0 <= x1 and x2 <= drawn["w"] and 0 <= y1 and y2 <= drawn["h"]
    # Roles apart: the recruiter's phone left of every patient, every patient left of every provider and doctor.
    recruiter = [n for n in hubs if n["type"] == "PHONE"]
    billing = [n for n in hubs if n["type"] in ("PROVIDER", "DOCTOR")]
    assert max(n["x"] for n in recruiter) < min(n["x"] for n in patients)
    assert max(n["x"] for n in patients) < min(n["x"] for n in billing)
    # Size by role: every hub larger than every patient; labels of hubs never overlap one another.
    assert min(n["size"] for n in hubs) > max(n["size"] for n in patients)
    for i, a in enumerate(hubs):
        assert not any(_overlap(a["box"], b["box"]) for b in hubs[i + 1:]), a["id"]
    # Edge width grows with amount.
    ranked = sorted(drawn["edges"], key=lambda e: e["amount"])
    assert all(a["width"] <= b["width"] for a, b in zip(ranked, ranked[1:])) and ranked[0]["width"] < ranked[-1]["width"]
    # Labels readable at the default zoom, and hub labels kept at 13 screen px when zoomed out.
    assert all(abs(n["font"] - 13) < 0.5 for n in hubs)
    assert all(n["font"] >= 9 for n in patients) and all(n["shown"] for n in nodes)
    assert all(abs(n["font"] - 13) < 0.5 for n in zoomed["nodes"] if n["tier"] == "hub")
    assert not any(n["shown"] for n in zoomed["nodes"] if n["tier"] == "patient")
    # The same picture on every load.
    assert [n["box"] for n in redrawn["nodes"]] == [n["box"] for n in nodes]
    for word in ("provider", "doctor", "beneficiary", "phone", "size: role", "link width: amount"):
        assert word in drawn["legend"]
    assert "intermediary" not in drawn["legend"]


def _big_ring(home: Path) -> str:
    """Store a run whose one ring draws more than 150 nodes: 8 clinics, 4 surgeons, 180 recruited patients
    sharing 30 phones; returns the run id."""
    rows = []
    for k in range(180):
        bene = f"BEN-BIG-{k:03d}"
        rows.append(_line(f"CLM-BIG-{k:03d}", 1, bene, bene, "TADAMON", "08", f"PRV-BIG-{k % 8}", "CLINIC", "06",
                          f"DOC-BIG-{k % 4}", "K50", "SURGERY", 5000.0 + k, f"2025-03-{1 + k % 28:02d}",
                          phone=f"06{k % 30:08d}", channel="PROXIMITY_POINT"))
    claims = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        claims[col] = claims[col].astype(dtype)
    members = pd.DataFrame(
        [("PROVIDER", f"PRV-BIG-{i}", "clinic") for i in range(8)] + [("DOCTOR", f"DOC-BIG-{i}", "surgeon") for i in range(4)]
        + [("BENEFICIARY", f"BEN-BIG-{k:03d}", "recruited_patient") for k in range(180)]
        + [("PHONE", f"06{i:08d}", "recruiter_phone") for i in range(30)],
        columns=["entity_type", "entity_id", "role"]).assign(ring_id="RING-BIG", score=1.0, evidence="planted")
    rings = pd.DataFrame([{"ring_id": "RING-BIG", "rank": 1, "score": 9.0, "size": len(members),
                           "amount_at_risk": float(claims["amount_claimed"].sum()), "summary": "big",
                           "scenario": "recruiter_funnel", "regions": "06,08", "regimes": "TADAMON"}])
    write_ring_pages(home, "run-big", kind="detect", claims=claims, rings=rings, members=members, story=page_story)
    with RunStore(home) as runs:
        runs.save_run("run-big", kind="detect", version="test", params={}, batches=[], rings=rings, members=members,
                      entity_scores=pd.DataFrame(), started_at="2099-01-01T00:00:00+00:00")
    return "run-big"


# Per node of the ring graph: its tier, whether its label is drawn, and the label's box on screen.
LABELS = """() => {
  const cy = window.shabakaGraphs["ring-graph"];
  const z = cy.zoom();
  return {zoom: z, nodes: cy.nodes().map(n => {
    const b = n.renderedBoundingBox({includeNodes: false, includeEdges: false, includeLabels: true});
    const font = parseFloat(n.style("font-size")) * z;
    return {id: n.id(), tier: n.data("tier"), font: font, box: [b.x1, b.y1, b.x2, b.y2],
            drawn: n.style("label") !== "" && font >= parseFloat(n.style("min-zoomed-font-size"))};
  })};
}"""


def test_a_big_ring_draws_no_label_over_another(server, filled):
    """On a ring graph of more than 150 nodes no two drawn labels overlap and every drawn label is at least
    9 px on screen; a label left out comes back when the user zooms in on its node."""
    from playwright.sync_api import sync_playwright

    run = _big_ring(filled.home_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        seen = watch(page)
        page.goto(server + "/login")
        _sign_in(page, "investigator")
        page.goto(server + f"/rings/RING-BIG?run={run}")
        page.wait_for_selector("#ring-graph[data-ready='1']", timeout=60000)
        drawn = page.evaluate(LABELS)
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#ring-graph").screenshot(path=str(ARTIFACTS / "web-1366-ring-big-graph.png"))
        hidden = [n["id"] for n in drawn["nodes"] if n["tier"] == "hub" and not n["drawn"]]
        if hidden:
            page.evaluate("""id => { const cy = window.shabakaGraphs["ring-graph"];
                                     cy.zoom({level: cy.zoom() * 4, renderedPosition: cy.getElementById(id).renderedPosition()}); }""",
                          hidden[0])
            page.wait_for_timeout(300)
            zoomed = {n["id"]: n for n in page.evaluate(LABELS)["nodes"]}
        browser.close()
    assert seen == [], seen
    nodes = drawn["nodes"]
    assert len(nodes) > 150
    labelled = [n for n in nodes if n["drawn"]]
    assert all(n["font"] >= 9 for n in labelled)
    for i, a in enumerate(labelled):
        assert not any(_overlap(a["box"], b["box"]) for b in labelled[i + 1:]), a["id"]
    hubs = [n for n in nodes if n["tier"] == "hub"]
    assert sum(n["drawn"] for n in hubs) >= 0.75 * len(hubs)
    if hidden:
        assert zoomed[hidden[0]]["drawn"]
