"""``shabaka ingest`` and ``shabaka quarantine``: JSON output and exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from shabaka.cli import main


def _run(capsys, *args):
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_ingest_json_reports_the_reconciliation_and_exits_0_with_quarantined_rows(tmp_path, claims_lines, capsys):
    lines = claims_lines + [claims_lines[1]]
    path = tmp_path / "week.csv"
    path.write_text("\n".join(lines) + "\n")
    code, out, _ = _run(capsys, "--home", str(tmp_path / "home"), "ingest", str(path), "--json")
    report = json.loads(out)
    assert code == 0
    assert (report["read"], report["loaded"], report["quarantined"]) == (65, 64, 1)
    assert report["by_rule"] == {"DUPLICATE_KEY": 1}
    assert report["files"][0]["name"] == "week.csv"


def test_ingest_exits_2_naming_the_file_when_refused(tmp_path, capsys):
    path = tmp_path / "notes.csv"
    path.write_text("claim_id,comment\nC1,hello\n")
    code, out, err = _run(capsys, "--home", str(tmp_path / "home"), "ingest", str(path), "--json")
    assert code == 2
    assert json.loads(out)["status"] == "refused" and "notes.csv" in json.loads(out)["error"]
    assert "notes.csv" in err and "missing required column" in err


def test_quarantine_lists_filters_and_exports(tmp_path, claims_lines, capsys):
    lines = list(claims_lines)
    lines[3] = lines[3].replace("CONSULTATION", "MASSAGE")
    path = tmp_path / "week.csv"
    path.write_text("\n".join(lines) + "\n")
    home = str(tmp_path / "home")
    _run(capsys, "--home", home, "ingest", str(path))
    code, out, _ = _run(capsys, "--home", home, "quarantine", "--rule", "unknown_enum")
    assert code == 0 and "week.csv:4" in out and "UNKNOWN_ENUM" in out
    code, out, _ = _run(capsys, "--home", home, "quarantine", "--file", "other.csv")
    assert out.startswith("0 quarantined")
    export = tmp_path / "q.csv"
    code, _, _ = _run(capsys, "--home", home, "quarantine", "--export", str(export))
    exported = pd.read_csv(export)
    assert exported["reason"].tolist() == ["UNKNOWN_ENUM"]
    assert "MASSAGE" in exported["raw_json"].iat[0]
