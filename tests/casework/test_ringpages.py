"""Ring pages materialised with the run: one rule for a ring's numbers, paged lines, change since the last run."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile

import pandas as pd
import pytest

from casework import ringpages
from casework.ringlines import WindowLines, ring_lines
from casework.ringpages import (build_ring_pages, ensure_ring_pages, pages_path, ring_lines_page, ring_page,
                                run_changes, write_ring_pages)
from casework.runs import RunStore
from detectors.config import DetectionConfig
from detectors.pipeline import detect
from export import export_ring
from ground.errors import InputRefused, NotFound
from ingest.store import ClaimsStore
from ingest.synthetic import generate_frames
from tests.conftest import RING_DOCTOR, _line, make_tiny_claims
from tests.export.conftest import write_claims_csv

EVERY_RING = DetectionConfig.from_mapping({"rings": {"alert_surprise": -1e9}, "cores": {"min_lift": 1.5}})
TIE_ONLY = 777.77  # a member patient seen by the member surgeon at a clinic outside the ring


def _claims() -> pd.DataFrame:
    claims = make_tiny_claims()
    extra = pd.DataFrame([_line("CLM-TIE", 1, "BEN-R0", "BEN-R0", "SALARIES", "08", "PRV-CLINIC-A", "CLINIC", "06",
                                RING_DOCTOR, "C", "CONSULTATION", TIE_ONLY, "2025-03-20")])
    extra["service_date"] = extra["submission_date"] = pd.Timestamp("2025-03-20")
    return pd.concat([claims, extra.astype(claims.dtypes.to_dict())], ignore_index=True)


def _store_run(settings, tmp_path, claims: pd.DataFrame, run_id: str = "run-1") -> tuple[str, dict]:
    """Ingest, detect, write the ring pages then store the run, as the weekly job does; (run id, planted ring)."""
    csv = write_claims_csv(claims, tmp_path / f"{run_id}.csv")
    with ClaimsStore(settings.home_path) as store:
        store.ingest([csv])
        window = store.claims(encoded=True)
        batches = store.batches()
    result = detect(window, seed=42, config=EVERY_RING)
    write_ring_pages(settings.home_path, run_id, kind="detect", claims=window, rings=result.rings,
                     members=result.members, config=EVERY_RING, intermediaries=result.intermediaries)
    with RunStore(settings.home_path) as runs:
        runs.save_run(run_id, kind="detect", version="test", params=result.params,
                      batches=[{"batch_id": str(b.batch_id), "sha256": str(b.sha256), "rows": int(b.rows)}
                               for b in batches.itertuples(index=False)],
                      rings=result.rings, members=result.members, entity_scores=result.entity_scores)
        ring_id = runs.members(run_id).query("entity_id == 'PRV-CLINIC-R'")["ring_id"].iloc[0]
        return run_id, runs.ring(run_id, ring_id)


def test_header_timeline_lines_bundle_and_report_give_one_amount_at_risk(settings, tmp_path):
    run_id, ring = _store_run(settings, tmp_path, _claims())
    header = ring["amount_at_risk"]
    page = ring_page(settings.home_path, run_id, ring["ring_id"], size=5)
    lines = list(page["lines"])
    for k in range(2, page["paging"]["pages"] + 1):  # every page, five lines at a time
        lines += ring_lines_page(settings.home_path, run_id, ring["ring_id"], page=k, size=5)[0]
    lines = pd.DataFrame(lines)
    assert len(lines) == page["totals"]["n_lines"] == page["paging"]["total"] > 5
    at_risk = lines.loc[lines["at_risk"], "amount_claimed"].sum()
    tie_only = lines.loc[~lines["at_risk"], "amount_claimed"].sum()
    assert header > 0 and tie_only == pytest.approx(TIE_ONLY)
    assert page["totals"]["amount_at_risk"] == pytest.approx(header, abs=0.005)
    assert page["totals"]["amount_tie_only"] == pytest.approx(TIE_ONLY)
    assert sum(d["amount_at_risk"] for d in page["timeline"]) == pytest.approx(header, abs=0.005)
    assert sum(d["amount_tie_only"] for d in page["timeline"]) == pytest.approx(TIE_ONLY)
    assert at_risk == pytest.approx(header, abs=0.005)

    bundle = export_ring(settings, ring["ring_id"], tmp_path / "ring.zip", run_id=run_id)
    with zipfile.ZipFile(bundle) as zf:
        claims_csv = pd.read_csv(io.BytesIO(zf.read("data/claims.csv")), dtype={"claim_id": str})
        report = zf.read("data/report.html").decode("utf-8")
        days = pd.read_csv(io.BytesIO(zf.read("data/timeline.csv")))
    flagged = claims_csv["at_risk"].astype(str).str.lower() == "true"
    assert claims_csv.loc[flagged, "amount_claimed"].sum() == pytest.approx(header, abs=0.005)
    assert claims_csv.loc[~flagged, "amount_claimed"].sum() == pytest.approx(TIE_ONLY)
    assert days["amount_at_risk"].sum() == pytest.approx(header, abs=0.01)
    assert f"{header:,.2f} MAD" in report
    assert f"{int(flagged.sum()):,} lines flagged at_risk" in report
    # the same lines, the same flags, on the page and in the bundle
    key = lambda frame: sorted(zip(frame["claim_id"].astype(str), frame["line_no"].astype(int),  # noqa: E731
                                   frame["at_risk"].astype(str).str.lower() == "true"))
    assert key(lines) == key(claims_csv)


def test_the_window_index_gives_every_ring_the_lines_of_the_rule_over_the_whole_window():
    data = generate_frames(scale=0.05, weeks=4, seed=5)
    labels = data.labels[data.labels["ring_id"].fillna("") != ""]
    members = labels[labels["entity_type"].isin(["PROVIDER", "DOCTOR", "BENEFICIARY", "PHONE"])][
        ["ring_id", "entity_type", "entity_id"]].drop_duplicates()
    patients_only = members[members["entity_type"] == "BENEFICIARY"].assign(ring_id="PATIENTS-ONLY")
    members = pd.concat([members, patients_only], ignore_index=True)
    window = WindowLines(data.claims, members)
    assert members["ring_id"].nunique() >= 3
    for ring_id, own in members.groupby("ring_id"):
        fast, whole = window.ring(own), ring_lines(data.claims, own)
        assert len(whole) > 0
        assert list(fast["claim_id"]) == list(whole["claim_id"]) and list(fast["line_no"]) == list(whole["line_no"])
        assert list(fast["at_risk"]) == list(whole["at_risk"]), ring_id


def test_change_since_the_previous_run_lists_new_and_gone_members_amount_and_alert(settings, tmp_path):
    home = settings.home_path
    run_id, ring = _store_run(settings, tmp_path, _claims())
    with RunStore(home) as runs:
        rings, members = runs.rings(run_id), runs.members(run_id)
    rid = ring["ring_id"]
    rings = rings.drop(columns=["run_id", "extra_json"])
    members = members.drop(columns=["run_id"])
    grown = members[members["entity_id"] != "BEN-R7"]
    grown = pd.concat([grown, pd.DataFrame([{"ring_id": rid, "entity_type": "BENEFICIARY", "entity_id": "BEN-000",
                                             "role": "recruited_patient", "score": 0.4, "evidence": "new"}])])
    rings.loc[rings["ring_id"] == rid, "amount_at_risk"] += 100.0
    gone = rings[rings["ring_id"] != rid]["ring_id"].tolist()
    rings, grown = rings[rings["ring_id"] == rid], grown[grown["ring_id"] == rid]
    alerts = pd.DataFrame([{"ring_id": rid, "change": "grown", "detail": "2 new members", "alerted": True}])
    with ClaimsStore(home) as store:
        window = store.claims(encoded=True)
    write_ring_pages(home, "run-2", kind="detect", claims=window, rings=rings, members=grown, config=EVERY_RING,
                     alerts=alerts)
    changes = ring_page(home, "run-2", rid)["changes"]
    assert changes["previous_run"] == run_id and changes["in_previous"]
    assert changes["amount_delta"] == pytest.approx(100.0)
    assert [m["entity_id"] for m in changes["members_added"]] == ["BEN-000"]
    assert [m["entity_id"] for m in changes["members_removed"]] == ["BEN-R7"]
    assert changes["alert"] == {"change": "grown", "detail": "2 new members", "alerted": True}
    assert [r["ring_id"] for r in run_changes(home, "run-2")["rings_gone"]] == gone
    first = ring_page(home, run_id, rid)["changes"]
    assert first["previous_run"] is None and not first["in_previous"]


def test_reads_are_capped_and_unknown_rings_runs_and_pages_are_refused(settings, tmp_path):
    home = settings.home_path
    run_id, ring = _store_run(settings, tmp_path, _claims())
    for size in (0, ringpages.MAX_PAGE_SIZE + 1):
        with pytest.raises(InputRefused, match="size"):
            ring_lines_page(home, run_id, ring["ring_id"], size=size)
    with pytest.raises(InputRefused, match="page"):
        ring_page(home, run_id, ring["ring_id"], page=0)
    last, paging = ring_lines_page(home, run_id, ring["ring_id"], page=10_000, size=5)
    assert paging["page"] == paging["pages"] and 0 < len(last) <= 5
    with pytest.raises(NotFound):
        ring_page(home, run_id, "RING-NOPE")
    with pytest.raises(NotFound, match="no ring pages"):
        ring_page(home, "run-never-stored", ring["ring_id"])
    with pytest.raises(NotFound):
        pages_path(home, "../shabaka")


def test_a_writer_that_dies_half_way_leaves_the_previous_pages_whole_and_no_debris(settings, tmp_path, monkeypatch):
    home = settings.home_path
    run_id, ring = _store_run(settings, tmp_path, _claims())
    before = pages_path(home, run_id).read_bytes()

    def die(*args, **kwargs):
        raise MemoryError("killed half way")

    monkeypatch.setattr(ringpages, "_write_ring", die)
    with pytest.raises(MemoryError):
        build_ring_pages(home, run_id)
    assert pages_path(home, run_id).read_bytes() == before
    assert not [p.name for p in pages_path(home, run_id).parent.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    build_ring_pages(home, run_id)  # rebuilt from the stored run and the claims store: the same numbers
    assert ring_page(home, run_id, ring["ring_id"])["totals"]["amount_at_risk"] == pytest.approx(
        ring["amount_at_risk"], abs=0.005)
    assert oct(pages_path(home, run_id).stat().st_mode & 0o777) == "0o600"


def test_pages_of_another_format_are_refused_then_rebuilt_by_ensure(settings, tmp_path):
    home = settings.home_path
    run_id, ring = _store_run(settings, tmp_path, _claims())
    assert not ensure_ring_pages(home, run_id)  # this version's file: kept
    conn = sqlite3.connect(pages_path(home, run_id))
    with conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'format'")
    conn.close()
    with pytest.raises(NotFound, match="another format"):
        ring_page(home, run_id, ring["ring_id"])
    assert ensure_ring_pages(home, run_id)
    assert ring_page(home, run_id, ring["ring_id"])["totals"]["amount_at_risk"] == pytest.approx(
        ring["amount_at_risk"], abs=0.005)


def test_a_view_reads_only_the_parts_it_asks_for_and_can_take_them_undecoded(settings, tmp_path):
    home = settings.home_path
    run_id, ring = _store_run(settings, tmp_path, _claims())
    whole = ring_page(home, run_id, ring["ring_id"])
    assert set(ringpages.PARTS) | {"totals", "story", "lines", "paging"} == set(whole)
    some = ring_page(home, run_id, ring["ring_id"], parts=("diff", "members"))
    assert set(some) == {"totals", "story", "diff", "members"} and some["diff"] == whole["diff"]
    raw = ring_page(home, run_id, ring["ring_id"], parts=("graph",), decode=False)
    assert isinstance(raw["graph"], str) and json.loads(raw["graph"]) == whole["graph"]
    assert whole["diff"]["status"] == "first run" and whole["changes"]["previous_run"] is None
