"""The report: self-contained HTML and a PDF that renders, both with the ring's amount."""

from __future__ import annotations

import re
import subprocess
import zipfile

import pandas as pd
import pytest

from detectors.indicators import IndicatorDetector
from export.report_model import format_mad
from ingest.store import ClaimsStore


@pytest.fixture
def bundle(ring_bundle):
    return ring_bundle


def test_html_report_is_self_contained_and_states_the_amount(bundle, export_home):
    with zipfile.ZipFile(bundle) as zf:
        html = zf.read("data/report.html").decode("utf-8")
    assert format_mad(export_home.amount_at_risk) in html
    assert "<svg" in html and "<style>" in html
    assert not re.search(r"<(link|script|img|iframe)\b", html, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#|data:)""", html, re.I)
    assert not re.search(r"url\((?!#)", html)
    for section in ("Méthode", "Method", "Indicators against peers", "Timeline", "Provenance"):
        assert section in html
    with zipfile.ZipFile(bundle) as zf:
        batch_hashes = zf.read("data/batches.csv").decode().splitlines()[1].split(",")[2]
    assert batch_hashes in html


@pytest.mark.needs_tool("pdftoppm", "pdftotext")
def test_pdf_report_renders_and_states_the_amount(bundle, export_home, tmp_path):
    pdf = tmp_path / "report.pdf"
    with zipfile.ZipFile(bundle) as zf:
        pdf.write_bytes(zf.read("data/report.pdf"))
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, capture_output=True)
    page = next(tmp_path.glob("page*.png"))
    assert page.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True).stdout.decode()
    assert format_mad(export_home.amount_at_risk) in text
    assert export_home.ring_id in text


@pytest.mark.parametrize("hostile", ["PRV-$x^$", "DOC-$\\frac{$", "a_b^c$"])
def test_ids_are_drawn_as_plain_text_never_as_math(hostile):
    import networkx as nx

    from export.picture import network_figure, timeline_figure, to_png, to_svg

    G = nx.Graph()
    G.add_node(f"PROVIDER:{hostile}", node_type="PROVIDER", entity_id=hostile)
    G.add_node("DOCTOR:D", node_type="DOCTOR", entity_id="D")
    G.add_edge(f"PROVIDER:{hostile}", "DOCTOR:D", weight=1.0)
    figure = network_figure(G, title=f"ring {hostile}")
    assert to_png(figure).startswith(b"\x89PNG")
    svg = to_svg(figure)
    assert hostile.replace("<", "&lt;") in svg
    days = pd.DataFrame({"date": [hostile], "amount": [1.0]})
    assert to_png(timeline_figure(days)).startswith(b"\x89PNG")


def test_indicator_table_shows_the_figures_the_indicator_detector_scored(bundle, export_home):
    """Every z in indicators.csv is the capped z the indicator detector used for that member."""
    with zipfile.ZipFile(bundle) as zf:
        table = pd.read_csv(zf.open("data/indicators.csv"), dtype={"entity_id": str})
        members = pd.read_csv(zf.open("data/members.csv"), dtype={"entity_id": str})
        html = zf.read("data/report.html").decode("utf-8")
    with ClaimsStore(export_home.settings.home_path) as store:
        scores = IndicatorDetector().fit(store.claims()).scores
    fallback = table["peer_group"].str.contains("fallback|no other", regex=True)
    reported = set(zip(table.loc[~fallback, "entity_type"], table.loc[~fallback, "entity_id"]))
    practitioners = set(zip(members["entity_type"], members["entity_id"])) & {
        (t, i) for t, i in zip(scores["entity_type"], scores["entity_id"])}
    assert reported == practitioners and reported
    for row in table[~fallback].itertuples(index=False):
        scored = scores[(scores["entity_type"] == row.entity_type) & (scores["entity_id"] == row.entity_id)].iloc[0]
        assert row.z == pytest.approx(float(scored[f"z_{row.indicator}"]), abs=1e-9)
    assert table["n_peers"].min() >= 1 and set(table["peer_group"]) and "peer group" in html
