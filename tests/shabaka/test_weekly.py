"""The weekly cycle over several generated weeks, where a planted ring appears, grows and stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES
from ingest.synthetic import generate_frames
from ground.errors import Locked
from shabaka.lock import RunLock
from casework.ringpages import ring_page, run_changes
from casework.runs import RunStore
from shabaka.weekly import EXIT_BAD_INPUT, EXIT_NOTHING_NEW, EXIT_OK, run_weekly

START = pd.Timestamp("2025-03-03")  # a Monday: ISO week 2025-W10
RING_CLINIC, RING_LAB, RING_SURGEON, RING_SECOND_SURGEON = "PRV-T-CLINIC", "PRV-T-LAB", "DOC-T-1", "DOC-T-2"


def _week_label(k: int) -> str:
    iso = (START + pd.Timedelta(weeks=k)).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _background() -> pd.DataFrame:
    """Generated claims over six weeks with the generator's own planted fraud taken out."""
    data = generate_frames(scale=0.02, weeks=6, seed=11, start=START.date().isoformat())
    labels = data.labels
    fraud = set(labels.loc[labels["entity_type"].isin(["PROVIDER", "DOCTOR", "BENEFICIARY"]), "entity_id"])
    claims = data.claims
    keep = ~(claims["provider_id"].isin(fraud) | claims["doctor_id"].isin(fraud)
             | claims["beneficiary_id"].isin(fraud))
    return claims[keep.fillna(True)].reset_index(drop=True)


def _ring_lines(week: int, patients: range, surgeons: tuple[str, ...]) -> pd.DataFrame:
    """A recruiter funnel: unrelated far-away Tadamon households sharing a phone and an account,
    brought on one day to a clinic for surgery with prior authorisation, plus lab work."""
    day = (START + pd.Timedelta(weeks=week, days=2)).date().isoformat()
    rows = []
    for k in patients:
        bene, claim = f"BEN-T{k:03d}", f"CLM-T{k:03d}"
        base = dict(claim_id=claim, beneficiary_id=bene, household_id=bene, regime="TADAMON", birth_year=1950,
                    sex="M", beneficiary_region="08", ald=False, provider_region="06", quantity=1, stay_days=None,
                    service_date=day, submission_date=day, channel="PROXIMITY_POINT",
                    submission_point_id="POINT-T", contact_phone="PHONE-T", payee_account="RIB-T", referrer_id=None)
        surgeon = surgeons[k % len(surgeons)]
        rows.append(base | dict(line_no=1, provider_id=RING_CLINIC, provider_type="CLINIC", doctor_id=surgeon,
                                doctor_specialty="CHIRURGIE_GENERALE", act_code="K80", act_family="SURGERY",
                                amount_claimed=9000.0, amount_reimbursed=8000.0, prior_auth_id=f"PA-T{k}"))
        rows.append(base | dict(line_no=2, provider_id=RING_LAB, provider_type="LAB", doctor_id=surgeon,
                                doctor_specialty="CHIRURGIE_GENERALE", act_code="B300", act_family="BIOLOGY",
                                amount_claimed=400.0, amount_reimbursed=320.0, prior_auth_id=None))
    frame = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        frame[col] = frame[col].astype(dtype)
    return frame


def _weekly_files(tmp_path: Path) -> list[pd.DataFrame]:
    background = _background()
    week_of = ((background["service_date"] - START).dt.days // 7).clip(lower=0)
    ring = {1: _ring_lines(1, range(0, 10), (RING_SURGEON,)),
            2: _ring_lines(2, range(10, 22), (RING_SURGEON, RING_SECOND_SURGEON))}
    weeks = []
    for k in range(6):
        part = background[week_of == k]
        if k in ring:
            part = pd.concat([part, ring[k]], ignore_index=True)
        weeks.append(part)
    return weeks


def _drop(frame: pd.DataFrame, inbox: Path, name: str) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    for col in ("service_date", "submission_date"):
        out[col] = out[col].dt.strftime("%Y-%m-%d")
    out.to_csv(inbox / name, index=False)


def _ring_alert(result, settings) -> dict | None:
    """This run's alert row for the ring holding the test clinic, if any."""
    with RunStore(settings.home_path) as runs:
        members = runs.members(result.run_id)
        alerts = runs.alerts(result.run_id)
    rings = set(members.loc[members["entity_id"] == RING_CLINIC, "ring_id"])
    rows = alerts[alerts["ring_id"].isin(rings)]
    return None if rows.empty else rows.iloc[0].to_dict()


@pytest.fixture
def settings(settings, tmp_path):
    """The shared settings, with a detection configuration reporting every candidate ring: a few dozen
    providers make nothing surprising at a national scale, and these tests are about the weekly job."""
    path = tmp_path / "detection.toml"
    path.write_text("[rings]\nalert_surprise = -1e9\n", encoding="utf-8")
    return settings.replace(detection_config=str(path))


@pytest.fixture(scope="module")
def weeks(tmp_path_factory):
    return _weekly_files(tmp_path_factory.mktemp("weeks"))


def test_ring_appears_grows_then_goes_across_weeks(weeks, settings):
    settings = settings.replace(window_weeks=2)
    inbox = settings.inbox_path
    seen, run_ids = {}, []
    for k, frame in enumerate(weeks):
        _drop(frame, inbox, f"claims-week-{k}.csv")
        result = run_weekly(settings, week=_week_label(k))
        assert result.exit_code == EXIT_OK, result.summary_text()
        assert (inbox / "processed" / f"claims-week-{k}.csv").exists()
        seen[k] = _ring_alert(result, settings)
        run_ids.append(result.run_id)
    assert seen[0] is None
    assert seen[1]["change"] == "new" and seen[1]["alerted"]
    assert seen[2]["change"] == "grown" and seen[2]["alerted"]
    assert seen[3]["change"] == "unchanged" and not seen[3]["alerted"]
    ring_id = seen[1]["ring_id"]
    assert seen[2]["ring_id"] == seen[3]["ring_id"] == ring_id, "the ring keeps one id from week to week"
    assert seen[4] is None and seen[5] is None
    with RunStore(settings.home_path) as runs:
        week4 = runs.alerts(run_ids[4]).set_index("ring_id")
        week5 = runs.alerts(run_ids[5])
    assert week4.loc[ring_id, "change"] == "gone" and not week4.loc[ring_id, "alerted"]
    assert ring_id not in set(week5["ring_id"])
    latest = settings.home_path / "runs" / "latest"
    assert {"rings.csv", "members.csv", "entity_scores.csv", "alerts.csv", "summary.txt"} <= {
        p.name for p in latest.iterdir()}
    # week over week, from the stored history, as the ring page shows it
    new, grown = (ring_page(settings.home_path, run_ids[k], ring_id)["changes"] for k in (1, 2))
    assert new["previous_run"] == run_ids[0] and not new["in_previous"] and new["alert"]["change"] == "new"
    assert grown["previous_run"] == run_ids[1] and grown["in_previous"] and grown["alert"]["change"] == "grown"
    with RunStore(settings.home_path) as runs:
        amounts = [runs.ring(run_ids[k], ring_id)["amount_at_risk"] for k in (1, 2)]
    assert grown["amount_delta"] == pytest.approx(amounts[1] - amounts[0]) and grown["amount_delta"] > 0
    assert RING_SECOND_SURGEON in {m["entity_id"] for m in grown["members_added"]}
    assert ring_id in {r["ring_id"] for r in run_changes(settings.home_path, run_ids[4])["rings_gone"]}


def test_same_week_twice_gives_the_same_rings_and_no_new_alert(weeks, settings):
    inbox = settings.inbox_path
    for k in range(3):
        _drop(weeks[k], inbox, f"w{k}.csv")
    first = run_weekly(settings, week=_week_label(2))
    assert first.exit_code == EXIT_OK
    _drop(weeks[2], inbox, "w2-again.csv")  # the same claims again under another name
    again = run_weekly(settings, week=_week_label(2))
    assert again.exit_code == EXIT_NOTHING_NEW and again.run_id == first.run_id
    assert again.files[0].status == "already_loaded" or again.files[0].quarantined == len(weeks[2])
    with RunStore(settings.home_path) as runs:
        assert len(runs.runs("weekly")) == 1
        assert len(runs.alerts(first.run_id)) == first.rings


def test_refused_file_is_moved_to_rejected_and_the_rest_runs(weeks, settings):
    inbox = settings.inbox_path
    _drop(weeks[0], inbox, "good.csv")
    (inbox / "broken.csv").write_text("not,the,contract\n1,2,3\n", encoding="utf-8")
    result = run_weekly(settings, week=_week_label(0))
    assert result.exit_code == EXIT_BAD_INPUT
    assert (inbox / "rejected" / "broken.csv").exists()
    note = json.loads((inbox / "rejected" / "broken.csv.json").read_text())
    assert "broken.csv" in note["refused"]
    assert result.run_id is not None and (settings.home_path / "runs" / result.run_id / "rings.csv").exists()


def test_second_run_while_one_holds_the_lock_is_refused(settings):
    with RunLock(settings.home_path / "run.lock"):
        with pytest.raises(Locked, match="already in progress"):
            run_weekly(settings, week="2025-W10")


def test_dry_run_writes_and_moves_nothing(weeks, settings):
    inbox = settings.inbox_path
    _drop(weeks[0], inbox, "w0.csv")
    run_weekly(settings, week=_week_label(0))
    _drop(weeks[1], inbox, "w1.csv")
    result = run_weekly(settings, week=_week_label(0), dry_run=True)
    assert result.status == "dry_run" and [f.status for f in result.files] == ["would_load"]
    assert (inbox / "w1.csv").exists()
    with RunStore(settings.home_path) as runs:
        assert len(runs.runs("weekly")) == 1


def test_run_killed_half_way_keeps_previous_results_and_next_run_completes(weeks, settings, tmp_path):
    inbox = settings.inbox_path
    _drop(weeks[0], inbox, "w0.csv")
    first = run_weekly(settings, week=_week_label(0))
    latest = settings.home_path / "runs" / "latest"
    before = (latest / "rings.csv").read_bytes()
    _drop(weeks[1], inbox, "w1.csv")
    env = dict(os.environ, SHABAKA_HOME=str(settings.home_path), SHABAKA_LOG_LEVEL="INFO")
    proc = subprocess.Popen([sys.executable, "-m", "shabaka", "run", "--week", _week_label(1)], env=env,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # kill it once detection has started, after the inbox was loaded
        if "claim lines in window" in line:
            time.sleep(0.3)
            proc.send_signal(signal.SIGKILL)
            break
    proc.stderr.close()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert os.readlink(latest) == first.run_id
    assert (latest / "rings.csv").read_bytes() == before
    with RunStore(settings.home_path) as runs:
        assert list(runs.runs("weekly")["run_id"]) == [first.run_id]
    after = run_weekly(settings, week=_week_label(1))
    assert after.exit_code == EXIT_OK and os.readlink(latest) == after.run_id


def test_neo4j_push_comes_after_the_embedded_store_and_its_failure_is_reported(weeks, settings):
    settings = settings.replace(neo4j_uri="bolt://127.0.0.1:9", neo4j_password="x")
    _drop(weeks[0], settings.inbox_path, "w0.csv")
    result = run_weekly(settings, week=_week_label(0))
    assert result.exit_code == 1 and result.neo4j.startswith("push failed")
    with RunStore(settings.home_path) as runs:
        assert runs.latest_run_id("weekly") == result.run_id
    assert (settings.home_path / "graph.sqlite").exists()
    assert "push failed" in (settings.home_path / "runs" / result.run_id / "summary.txt").read_text()


def test_logs_carry_counts_and_ids_but_no_personal_data(weeks, settings, caplog):
    _drop(weeks[1], settings.inbox_path, "w1.csv")
    with caplog.at_level("DEBUG"):
        result = run_weekly(settings, week=_week_label(1))
    assert result.rings >= 1 and caplog.records
    text = "\n".join(record.getMessage() for record in caplog.records)
    personal = set(weeks[1]["beneficiary_id"].dropna()) | set(weeks[1]["contact_phone"].dropna()) | set(
        weeks[1]["payee_account"].dropna())
    leaked = sorted(value for value in personal if value in text)
    assert not leaked, f"personal identifiers in logs: {leaked[:5]}"


def test_ring_members_are_nodes_of_the_stored_graph(weeks, settings):
    from graph.sqlite_store import SqliteGraphStore

    _drop(weeks[1], settings.inbox_path, "w1.csv")
    result = run_weekly(settings, week=_week_label(1))
    with RunStore(settings.home_path) as runs:
        members = runs.members(result.run_id)
    assert "INTERMEDIARY" in set(members["entity_type"])
    with SqliteGraphStore(settings.home_path) as graph:
        for member in members.drop_duplicates(["entity_type", "entity_id"]).itertuples():
            assert f"{member.entity_type}:{member.entity_id}" in graph.resolve(member.entity_id)
