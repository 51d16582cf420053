"""Checking a CSV's UTF-8 and line lengths while it is read gives what the whole-file scan gives."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import ingest.read
from ingest.schema import PROVIDER_COLUMNS
from ingest.store import ClaimsStore
from ingest.textscan import LONG_LINE, longest_line, open_line
from ground.errors import InputRefused


def _many_lines(claims_lines: list[str], copies: int) -> list[str]:
    """The tiny claims ``copies`` times over, each copy with its own claim ids."""
    out = [claims_lines[0]]
    for k in range(copies):
        out += [line.replace("CLM-", f"CLM{k}-", 1) for line in claims_lines[1:]]
    return out


@pytest.fixture
def scans(monkeypatch):
    """Check the first 4 KiB of any file up front and the rest while reading; count whole-file scans."""
    monkeypatch.setattr(ingest.read, "DEFER_SCAN_BYTES", 0)
    monkeypatch.setattr(ingest.read, "READ_BLOCK", 4096)
    scanned = []
    whole = ingest.read.scan_csv

    def counted(path, required):
        scanned.append(path.name)
        return whole(path, required)

    monkeypatch.setattr(ingest.read, "scan_csv", counted)
    return scanned


def _stored(store: ClaimsStore) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    quarantine = store.quarantine()[["line", "rule", "reason", "message", "raw_json"]]
    loads = store.loads()[["read", "loaded", "quarantined", "by_rule_json"]].to_dict("records")
    return store.claims(), quarantine, loads


def test_open_line_agrees_with_the_whole_block_scan():
    rng = np.random.default_rng(7)
    for _ in range(300):
        lengths = rng.choice([0, 5, 200, LONG_LINE - 1, LONG_LINE, LONG_LINE + 1], size=rng.integers(1, 6))
        ending = [b"\n", b"\r\n", b"\r"][rng.integers(0, 3)] if rng.random() < 0.5 else b"\n"
        block = ending.join(b"x" * int(n) for n in lengths)
        if rng.random() < 0.5:
            block += ending
        run = int(rng.choice([0, 10, LONG_LINE - 3, LONG_LINE + 1]))
        longest, tail = longest_line(block, 0, run)
        expected = -1 if max(longest, tail) > LONG_LINE else tail
        assert open_line(block, run) == expected, (lengths.tolist(), ending, run)


@pytest.mark.parametrize("compress", [False, True])
def test_a_file_checked_while_read_stores_what_a_file_scanned_first_stores(tmp_path, claims_lines, scans, compress):
    lines = _many_lines(claims_lines, 40)
    lines[30] = lines[30].replace("2025-03", "2025-13", 1)  # a quarantined line past the first block
    lines.append(lines[50])  # a duplicate key
    text = ("\n".join(lines) + "\n").encode()
    path = tmp_path / ("claims.csv.gz" if compress else "claims.csv")
    path.write_bytes(gzip.compress(text) if compress else text)
    with ClaimsStore(tmp_path / "checked") as checked:
        report = checked.ingest([path], chunk_rows=500)
        assert scans == []  # the claims file was not scanned before loading
        got = _stored(checked)
    ingest.read.DEFER_SCAN_BYTES = 1 << 62
    with ClaimsStore(tmp_path / "scanned") as scanned:
        scanned.ingest([path], chunk_rows=500)
        expected = _stored(scanned)
    assert scans == [path.name]
    assert report.read == len(lines) - 1 == report.loaded + report.quarantined
    pd.testing.assert_frame_equal(got[0], expected[0])
    pd.testing.assert_frame_equal(got[1], expected[1])
    assert got[2] == expected[2] and sorted(got[1]["line"]) == [31, len(lines)]


@pytest.mark.parametrize("compress", [False, True])
def test_bad_utf8_met_while_reading_is_refused_with_its_line_and_writes_nothing(tmp_path, claims_lines, scans,
                                                                               compress):
    lines = [line.encode() for line in _many_lines(claims_lines, 10)]
    lines[400] = lines[400].replace(b"MEDECINE", b"M\xe9DECINE", 1)
    text = b"\n".join(lines) + b"\n"
    path = tmp_path / ("latin.csv.gz" if compress else "latin.csv")
    path.write_bytes(gzip.compress(text) if compress else text)
    providers = tmp_path / "providers.csv"
    providers.write_text(",".join(PROVIDER_COLUMNS) + "\nPRV-CLINIC-A,Clinique A,CLINIC,06,Casablanca,33.57,-7.59\n")
    with ClaimsStore(tmp_path / "home") as store:
        with pytest.raises(InputRefused, match=rf"{path.name}: line 401: not UTF-8"):
            store.ingest([path], providers=providers, chunk_rows=100)
        assert store.batches().empty and store.quarantine().empty and store.loads().empty
        assert store.providers().empty  # the providers file is written after the first claims file
        assert [p.name for p in store.claims_dir.iterdir() if not p.name.startswith(".ingest")] == []
    assert scans == ["providers.csv", path.name]  # the claims file scanned whole once the reading met the byte


def test_a_long_line_met_while_reading_loads_as_the_scanned_file_does(tmp_path, claims_lines, scans):
    lines = _many_lines(claims_lines, 10)
    fields = lines[300].split(",")
    fields[13] = "Y" * (LONG_LINE + 10)  # doctor_specialty
    lines[300] = ",".join(fields)
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with ClaimsStore(tmp_path / "checked") as checked:
        checked.ingest([path], chunk_rows=100)
        got = _stored(checked)
    ingest.read.DEFER_SCAN_BYTES = 1 << 62
    with ClaimsStore(tmp_path / "scanned") as scanned:
        scanned.ingest([path], chunk_rows=100)
        expected = _stored(scanned)
    assert scans == [path.name, path.name]
    assert list(got[1]["reason"]) == ["FIELD_TOO_LONG"] and list(got[1]["line"]) == [301]
    pd.testing.assert_frame_equal(got[0], expected[0])
    pd.testing.assert_frame_equal(got[1], expected[1])
    assert got[2] == expected[2]


def test_a_truncated_gzip_met_while_reading_is_refused_as_the_scan_refuses_it(tmp_path, claims_lines, scans):
    data = gzip.compress(("\n".join(_many_lines(claims_lines, 20)) + "\n").encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    with ClaimsStore(tmp_path / "home") as store:
        with pytest.raises(InputRefused, match="cut.csv.gz: cannot be read as gzip-compressed CSV"):
            store.ingest([path], chunk_rows=100)
        assert store.batches().empty and store.loads().empty
