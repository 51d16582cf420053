"""Mangled files: every one is loaded and reconciled, or refused naming the file; none crashes.

A seeded sample of :mod:`ingest.mangle`'s generator runs in process (the benchmark
``bench/fuzz_ingest.py`` runs ten thousand); the damages a user meets most are
checked one by one through the installed ``shabaka ingest`` command.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ground.errors import InputRefused
import ingest.read
from ingest.mangle import MANGLINGS, mangled_files
from ingest.schema import MAX_FIELD_CHARS, MAX_ID_CHARS


@pytest.mark.parametrize("checked_while_read", [False, True])
def test_a_seeded_sample_of_mangled_files_loads_reconciled_or_is_refused(store, tiny_claims, tmp_path, monkeypatch,
                                                                         checked_while_read):
    if checked_while_read:  # every file checked as it is read after its first 2 KiB (ingest.textscan)
        monkeypatch.setattr(ingest.read, "DEFER_SCAN_BYTES", 0)
        monkeypatch.setattr(ingest.read, "READ_BLOCK", 2048)
    outcomes = {kind: set() for kind in MANGLINGS}
    for m in mangled_files(tiny_claims, 300, seed=12, huge_size=200_000):
        path = tmp_path / m.name
        path.write_bytes(m.data)
        try:
            report = store.ingest([path], chunk_rows=16)
        except InputRefused as exc:
            assert m.name in str(exc)
            outcomes[m.kinds[0]].add("refused")
            continue
        finally:
            path.unlink()
        assert report.read == report.loaded + report.quarantined, m.kinds
        loads = store.loads()
        last = loads.iloc[-1]
        assert (last["read"], last["loaded"], last["quarantined"]) == (report.read, report.loaded, report.quarantined)
        outcomes[m.kinds[0]].add("loaded")
    # Harmless damage loads; damage to the format itself is refused.
    for kind in ("bom", "crlf", "cr_only", "huge_field", "extra_columns"):
        assert "loaded" in outcomes[kind], kind
    for kind in ("encoding", "duplicated_columns", "corrupt_gzip", "parquet_flipped"):
        assert "refused" in outcomes[kind], kind


def _ingest(shabaka_cmd, tmp_path, path, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHABAKA_")}
    env["SHABAKA_HOME"] = str(tmp_path / "home")
    done = subprocess.run([shabaka_cmd, "ingest", "--json", *extra, str(path)], capture_output=True, text=True,
                          env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def test_cr_only_line_endings_load_every_row_with_its_line(shabaka_cmd, claims_lines, tmp_path):
    path = tmp_path / "mac.csv"
    lines = list(claims_lines)
    bad = next(i for i, line in enumerate(lines) if "CONSULTATION" in line)
    lines[bad] = lines[bad].replace("CONSULTATION", "MASSAGE")
    path.write_bytes("\r".join(lines).encode("utf-8") + b"\r")
    code, out, _ = _ingest(shabaka_cmd, tmp_path, path)
    assert code == 0 and (out["read"], out["loaded"], out["quarantined"]) == (64, 63, 1)
    from ingest.store import ClaimsStore

    with ClaimsStore(tmp_path / "home") as store:
        assert store.quarantine()["line"].tolist() == [bad + 1]


@pytest.mark.parametrize("ending", ["\r\n", "\n"])
def test_bom_crlf_and_quoted_newlines_load_every_row(shabaka_cmd, claims_lines, tmp_path, ending):
    lines = list(claims_lines)
    lines[3] = lines[3].replace("MEDECINE_GENERALE", '"MEDECINE\nGENERALE"')
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ending.join(lines).encode("utf-8") + ending.encode())
    code, out, _ = _ingest(shabaka_cmd, tmp_path, path)
    assert code == 0 and (out["read"], out["loaded"], out["quarantined"]) == (64, 64, 0)


def test_one_ten_megabyte_field_quarantines_its_row_only(shabaka_cmd, claims_lines, tmp_path):
    lines = list(claims_lines)
    lines[7] = lines[7].replace("MEDECINE_GENERALE", "X" * (10 << 20), 1)
    path = tmp_path / "huge.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = _ingest(shabaka_cmd, tmp_path, path)
    assert code == 0 and (out["read"], out["loaded"], out["quarantined"]) == (64, 63, 1)
    assert out["by_rule"] == {"FIELD_TOO_LONG": 1}
    from ingest.store import ClaimsStore

    with ClaimsStore(tmp_path / "home") as store:
        row = store.quarantine().iloc[0]
    assert row["line"] == 8 and f"longer than {MAX_FIELD_CHARS}" in row["message"]
    assert len(row["raw_json"]) < 10_000, "the quarantine keeps the start of a huge value, not all of it"


def test_ids_longer_than_the_limit_are_quarantined(store, claims_lines, tmp_path):
    lines = list(claims_lines)
    col = lines[0].split(",").index("provider_id")
    for i, length in ((2, MAX_ID_CHARS + 1), (3, MAX_ID_CHARS)):
        fields = lines[i].split(",")
        fields[col] = "P" * length
        lines[i] = ",".join(fields)
    path = tmp_path / "ids.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = store.ingest([path])
    assert report.by_rule == {"ID_TOO_LONG": 1}
    assert store.quarantine()["line"].tolist() == [3]


def _parquet_bytes(claims_lines) -> bytes:
    import pandas as pd

    frame = pd.read_csv(io.StringIO("\n".join(claims_lines)), dtype=str, keep_default_na=False)
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue()


@pytest.mark.parametrize("damage", ["parquet bit flips", "parquet list column", "parquet not utf-8",
                                    "gzip truncated", "gzip flipped",
                                    "latin-1", "utf-16", "duplicated column", "missing column"])
def test_broken_files_are_refused_with_exit_2_naming_the_file(shabaka_cmd, claims_lines, tmp_path, damage):
    text = "\n".join(claims_lines) + "\n"
    if damage == "parquet bit flips":
        data = bytearray(_parquet_bytes(claims_lines))
        for i in range(len(data) // 3, len(data) // 3 + 400, 7):
            data[i] ^= 0x10
        name, data = "week.parquet", bytes(data)
    elif damage == "parquet list column":
        import pandas as pd

        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.set_column(table.column_names.index("quantity"), "quantity",
                                 pa.array([[1]] * table.num_rows, pa.list_(pa.int64())))
        buf = io.BytesIO()
        pq.write_table(table, buf)
        name, data = "week.parquet", buf.getvalue()
    elif damage == "parquet not utf-8":
        import pandas as pd

        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        raw = pa.array([b"CLINIC\xff\xfe"] * table.num_rows, pa.binary()).view(pa.string())
        table = table.set_column(table.column_names.index("provider_type"), "provider_type", raw)
        buf = io.BytesIO()
        pq.write_table(table, buf)
        name, data = "week.parquet", buf.getvalue()
    elif damage.startswith("gzip"):
        data = bytearray(gzip.compress(text.encode(), mtime=0))
        if damage == "gzip truncated":
            data = data[: len(data) // 2]
        else:
            data[len(data) // 2] ^= 0xFF
        name, data = "week.csv.gz", bytes(data)
    elif damage in ("latin-1", "utf-16"):
        name, data = "week.csv", text.replace("MEDECINE", "MÉDECINE").encode(damage)
    elif damage == "duplicated column":
        lines = [line + ",x" for line in claims_lines]
        lines[0] = lines[0][:-2] + ",claim_id"
        name, data = "week.csv", ("\n".join(lines) + "\n").encode()
    else:
        lines = [line.split(",", 1)[1] for line in claims_lines]
        name, data = "week.csv", ("\n".join(lines) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = _ingest(shabaka_cmd, tmp_path, path)
    assert code == 2, err
    assert out["status"] == "refused" and name in out["error"] and name in err
    assert "expected" in out["error"]
