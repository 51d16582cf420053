"""The claims store: reconciliation, idempotency, duplicates, refusals, time windows, providers."""

from __future__ import annotations

import gzip
import hashlib
import sqlite3

import pandas as pd
import pytest

from ingest.schema import CLAIM_DTYPES, PROVIDER_COLUMNS
from ingest.store import ClaimsStore
from ground.errors import InputRefused



def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _nothing_written(store) -> bool:
    return store.batches().empty and store.quarantine().empty and not list(store.claims_dir.glob("*.parquet"))


def test_a_load_reconciles_and_stores_the_reconciliation(store, tmp_path, claims_lines):
    lines = list(claims_lines)
    lines[2] = lines[2].replace("2025-03", "2025-13", 1)
    lines.append(lines[5])
    path = write_lines(tmp_path / "mixed.csv", lines)
    report = store.ingest([path], chunk_rows=10)
    assert report.read == len(lines) - 1
    assert report.read == report.loaded + report.quarantined
    assert report.by_rule == {"BAD_DATE": 1, "DUPLICATE_KEY": 1}
    loads = store.loads()
    assert loads[["read", "loaded", "quarantined"]].iloc[0].tolist() == [report.read, report.loaded, 2]
    assert len(store.claims()) == report.loaded
    quarantined = store.quarantine()
    assert sorted(quarantined["line"]) == [3, len(lines)]


def test_loading_the_same_file_twice_adds_nothing(store, claims_file):
    first = store.ingest([claims_file])
    again = store.ingest([claims_file])
    assert first.loaded == 64
    assert (again.read, again.loaded, again.quarantined, again.already_loaded) == (0, 0, 0, 1)
    assert again.files[0].status == "already_loaded"
    assert len(store.claims()) == 64
    assert len(store.batches()) == 1
    assert store.quarantine().empty


def test_a_line_already_loaded_from_another_file_is_quarantined_and_the_first_stays(store, tmp_path, claims_lines):
    store.ingest([write_lines(tmp_path / "a.csv", claims_lines[:11])])
    changed = [claims_lines[0], claims_lines[3].replace("150.0", "999.0")] + claims_lines[11:13]
    report = store.ingest([write_lines(tmp_path / "b.csv", changed)])
    assert report.by_rule == {"DUPLICATE_KEY": 1}
    assert report.loaded == 2
    claims = store.claims()
    assert len(claims) == 12
    assert 999.0 not in set(claims["amount_claimed"])
    row = store.quarantine(reason="DUPLICATE_KEY").iloc[0]
    assert row["source_name"] == "b.csv" and row["line"] == 2
    assert "already loaded in batch" in row["message"]


def test_quarantine_keeps_the_raw_values_as_read(store, tmp_path, claims_lines):
    lines = list(claims_lines)
    lines[1] = lines[1].replace(",SALARIES,", ", salariés ,", 1)
    store.ingest([write_lines(tmp_path / "raw.csv", lines)])
    row = store.quarantine().iloc[0]
    assert row["reason"] == "UNKNOWN_ENUM"
    assert '" salariés "' in row["raw_json"]


@pytest.mark.parametrize("content, expected", [
    (None, "missing required column(s) amount_claimed"),
    (b"\xff\xfe\x00garbage", "line 1: not UTF-8"),
    (b"", "empty file"),
])
def test_a_refused_file_names_the_file_and_what_is_wrong_and_writes_nothing(store, tmp_path, claims_lines,
                                                                             content, expected):
    path = tmp_path / "bad.csv"
    if content is None:
        header = claims_lines[0].split(",")
        keep = [i for i, c in enumerate(header) if c != "amount_claimed"]
        content = "\n".join(",".join(line.split(",")[i] for i in keep) for line in claims_lines).encode()
    path.write_bytes(content)
    with pytest.raises(InputRefused) as refused:
        store.ingest([path])
    assert "bad.csv" in str(refused.value) and expected in str(refused.value)
    assert _nothing_written(store)


def test_bad_encoding_is_refused_with_its_line(store, tmp_path, claims_lines):
    path = tmp_path / "latin.csv"
    text = "\n".join(claims_lines) + "\n"
    lines = text.encode("utf-8").split(b"\n")
    lines[40] = lines[40].replace(b"MEDECINE", b"M\xe9DECINE")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputRefused, match=r"latin\.csv: line 41: not UTF-8"):
        store.ingest([path])
    assert _nothing_written(store)


def test_not_a_claims_file_is_refused(store, tmp_path, claims_file):
    image = tmp_path / "scan.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(InputRefused, match="scan.png: not a claims file"):
        store.ingest([image])
    fake = tmp_path / "fake.parquet"
    fake.write_text("claim_id\n")
    with pytest.raises(InputRefused, match="fake.parquet: not a Parquet file"):
        store.ingest([claims_file, fake])
    assert _nothing_written(store)


def test_gzip_and_parquet_inputs_load_the_same_claims(settings, tmp_path, tiny_claims, claims_lines):
    gz = tmp_path / "claims.csv.gz"
    gz.write_bytes(gzip.compress(("\n".join(claims_lines) + "\n").encode()))
    parquet = tmp_path / "claims.parquet"
    tiny_claims.to_parquet(parquet)
    with ClaimsStore(settings.home_path / "a") as a, ClaimsStore(settings.home_path / "b") as b:
        assert a.ingest([gz]).loaded == 64
        assert b.ingest([parquet]).loaded == 64
        pd.testing.assert_frame_equal(a.claims(), b.claims())
        pd.testing.assert_frame_equal(a.claims(), tiny_claims, check_dtype=True)


def test_claims_window_is_inclusive_and_typed(store, claims_file, tiny_claims):
    store.ingest([claims_file])
    window = store.claims("2025-03-10", "2025-03-12", columns=["claim_id", "service_date"])
    expected = tiny_claims[(tiny_claims.service_date >= "2025-03-10") & (tiny_claims.service_date <= "2025-03-12")]
    assert sorted(window["claim_id"]) == sorted(expected["claim_id"])
    assert window["service_date"].dtype == CLAIM_DTYPES["service_date"]
    assert list(window.columns) == ["claim_id", "service_date"]
    assert len(store.claims(end="2025-03-02")) == 0


def test_batches_give_the_sha256_of_the_source_and_of_the_parquet(store, claims_file):
    store.ingest([claims_file])
    batch = store.batches().iloc[0]
    assert batch["sha256"] == hashlib.sha256(claims_file.read_bytes()).hexdigest()
    parquet = store.claims_dir / batch["parquet_name"]
    assert batch["parquet_sha256"] == hashlib.sha256(parquet.read_bytes()).hexdigest()
    assert (batch["rows"], batch["min_service_date"], batch["max_service_date"]) == (64, "2025-03-03", "2025-03-22")
    assert len(store.claims(batch_ids=[batch["batch_id"]])) == 64


def test_providers_are_validated_and_reloading_adds_nothing(store, tmp_path, claims_file):
    path = write_lines(tmp_path / "providers.csv", [
        ",".join(PROVIDER_COLUMNS),
        "PRV-CLINIC-A,Clinique A,clinic,06,Casablanca,33.57,-7.59",
        "PRV-LAB-C,,LAB,6,,,",
        "PRV-X,,SPA,,,,",
        "PRV-CLINIC-A,dup,CLINIC,06,,,",
        "PRV-Y,,DOCTOR,,,95,0",
    ])
    report = store.ingest([claims_file], providers=path)
    assert report.providers["read"] == 5 and report.providers["loaded"] == 1
    assert report.providers["by_rule"] == {"BAD_COORDINATE": 1, "DUPLICATE_KEY": 1, "UNKNOWN_ENUM": 2}
    providers = store.providers()
    assert providers.to_dict("records")[0]["provider_type"] == "CLINIC"
    again = store.ingest([claims_file], providers=path)
    assert again.providers["status"] == "already_loaded"
    assert len(store.quarantine(source_name="providers.csv")) == 4


def test_every_stored_load_satisfies_read_equals_loaded_plus_quarantined(store, claims_file):
    store.ingest([claims_file])
    conn = sqlite3.connect(store.home / "shabaka.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO claim_loads (source_name, sha256, source_format, status, read, loaded, quarantined,"
                     " by_rule_json, started_at, finished_at) VALUES ('x', 'y', 'contract', 'loaded', 3, 1, 1, '{}',"
                     " 'now', 'now')")
    conn.close()


def test_any_of_keeps_lines_matching_any_listed_column(store, claims_file, tiny_claims, planted_ring):
    store.ingest([claims_file])
    ring = store.claims(any_of={"provider_id": planted_ring["providers"], "contact_phone": [planted_ring["phone"]]})
    expected = tiny_claims[tiny_claims["provider_id"].isin(planted_ring["providers"])
                           | tiny_claims["contact_phone"].isin([planted_ring["phone"]]).fillna(False)]
    assert sorted(zip(ring["claim_id"], ring["line_no"])) == sorted(zip(expected["claim_id"], expected["line_no"]))
    assert len(store.claims(any_of={"provider_id": []})) == 0
    with pytest.raises(InputRefused, match="nope"):
        store.claims(any_of={"nope": ["x"]})


def test_a_provider_search_streams_the_table_and_stops_at_its_limit(store, tmp_path, claims_file):
    path = write_lines(tmp_path / "providers.csv", [
        ",".join(PROVIDER_COLUMNS),
        "PRV-CLINIC-A,Clinique Atlas,CLINIC,06,Casablanca,,",
        "PRV-CLINIC-B,Clinique Bouregreg,CLINIC,04,Rabat,,",
        "PRV-LAB-C,Laboratoire Central,LAB,06,,,",
        "PRV-LAB-D,,LAB,06,,,",
    ])
    store.ingest([claims_file], providers=path)
    assert list(store.providers(matching="clinique")["provider_id"]) == ["PRV-CLINIC-A", "PRV-CLINIC-B"]
    assert list(store.providers(matching="LAB-", limit=1)["provider_id"]) == ["PRV-LAB-C"]
    assert list(store.providers(matching="central")["name"]) == ["Laboratoire Central"]
    assert store.providers(matching="nobody").empty
    assert len(store.providers(limit=3)) == 3 and len(store.providers()) == 4
