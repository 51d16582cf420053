"""Look-alike contamination of the top rings: by hand, and through ``shabaka evaluate --lookalikes``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from detectors.evaluate import evaluate, lookalike_report

SHABAKA = Path(sys.executable).with_name("shabaka")


def _findings() -> dict:
    rings = pd.DataFrame({"ring_id": ["X", "Y", "Z"], "rank": [1, 2, 3], "score": [9.0, 8.0, 7.0]})
    members = pd.DataFrame([("X", "PROVIDER", "P1"), ("X", "DOCTOR", "D1"),
                            ("Y", "PROVIDER", "ONC"), ("Y", "PROVIDER", "PH1"), ("Y", "BENEFICIARY", "B7"),
                            ("Z", "DOCTOR", "GP"), ("Z", "PROVIDER", "P9")],
                           columns=["ring_id", "entity_type", "entity_id"])
    scores = pd.DataFrame({"entity_type": "PROVIDER", "entity_id": ["P1", "ONC"], "score": [2.0, 1.0]})
    return {"rings": rings, "members": members, "entity_scores": scores}


def _lookalikes() -> pd.DataFrame:
    rows = [("oncology_injectables", "DOCTOR", "ONC", "LK-0001", "specialist"),
            ("oncology_injectables", "PROVIDER", "PH1", "LK-0001", "pharmacy"),
            ("village_phone", "PHONE", "0611111111", "LK-0002", "village_phone"),
            ("village_phone", "BENEFICIARY", "B7", "LK-0002", "neighbour"),
            ("gp_pharmacy_next_door", "PROVIDER", "GP", "LK-0003", "gp"),
            ("specialty_spelling", "DOCTOR", "D1", "LK-0004", "specialty_spelling"),
            ("dialysis", "PROVIDER", "DIAL", "LK-0005", "centre")]
    return pd.DataFrame(rows, columns=["kind", "entity_type", "entity_id", "group_id", "role"])


def _labels() -> pd.DataFrame:
    return pd.DataFrame([("PROVIDER", "P1", "R1", "clinic", "s"), ("DOCTOR", "D1", "R1", "surgeon", "s")],
                        columns=["entity_type", "entity_id", "ring_id", "role", "scenario"])


def test_lookalike_report_counts_rings_holding_a_group_per_kind():
    report = lookalike_report(_lookalikes(), _findings())
    assert report["top"] == 3
    per = report["per_kind"]
    # Y holds the oncologist (a DOCTOR labelled, a PROVIDER in the ring: ids compare whatever the type)
    assert per["oncology_injectables"] == {"groups": 1, "groups_in_rings": 1, "rings": 1}
    assert per["village_phone"] == {"groups": 1, "groups_in_rings": 1, "rings": 1}  # through a neighbour
    assert per["gp_pharmacy_next_door"]["rings"] == 1
    assert per["dialysis"] == {"groups": 1, "groups_in_rings": 0, "rings": 0}
    assert per["specialty_spelling"]["rings"] == 1
    # the headline leaves the data-quality kinds out: X holds only a respelled doctor
    assert report["rings_with_lookalike"] == 2 and report["rings"] == ["Y", "Z"]


def test_lookalike_report_reads_only_the_top_rings():
    assert lookalike_report(_lookalikes(), _findings(), top=1)["rings_with_lookalike"] == 0
    report = evaluate(_labels(), _findings(), lookalikes=_lookalikes())
    assert report["n_planted"] == 1 and report["lookalikes"]["top"] == 2
    assert report["lookalikes"]["rings"] == ["Y"]
    assert "lookalikes" not in evaluate(_labels(), _findings())


def test_evaluate_command_prints_lookalike_contamination(tmp_path):
    found = tmp_path / "findings"
    found.mkdir()
    frames = _findings()
    frames["rings"].assign(size=2, amount_at_risk=0.0, summary="").to_csv(found / "rings.csv", index=False)
    frames["members"].assign(role="", score=1.0, evidence="").to_csv(found / "members.csv", index=False)
    frames["entity_scores"].assign(top_reason="", top_detector="").to_csv(found / "entity_scores.csv", index=False)
    _labels().to_csv(tmp_path / "labels.csv", index=False)
    _lookalikes().to_csv(tmp_path / "lookalikes.csv", index=False)
    args = [str(SHABAKA), "evaluate", "--truth", str(tmp_path / "labels.csv"), "--findings", str(found),
            "--lookalikes", str(tmp_path / "lookalikes.csv")]
    text = subprocess.run(args, capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert "rings_with_lookalike   1 of the top 2 rings" in text.stdout
    assert "oncology_injectables" in text.stdout
    as_json = subprocess.run(args + ["--json"], capture_output=True, text=True)
    assert json.loads(as_json.stdout)["lookalikes"]["per_kind"]["oncology_injectables"]["rings"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,entity_id\nx,y\n")
    refused = subprocess.run(args[:-1] + [str(bad)], capture_output=True, text=True)
    assert refused.returncode != 0 and "group_id" in refused.stderr
