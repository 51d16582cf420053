"""The month-partitioned claims store: windows read their months, entities few row groups, old homes migrate."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ingest import parts as parts_module
from ingest.keys import FileKeys, find_in, fingerprints
from ingest.load import _key_order
from ingest.load import PARQUET_SCHEMA
from ingest.store import ClaimsStore


def _months_of_claims(tiny_claims: pd.DataFrame, months: int) -> pd.DataFrame:
    """The tiny claims repeated over ``months`` consecutive months, with distinct claim ids."""
    frames = []
    for k in range(months):
        frame = tiny_claims.copy()
        frame["claim_id"] = frame["claim_id"] + f"-M{k}"
        for col in ("service_date", "submission_date"):
            frame[col] = frame[col] + pd.DateOffset(months=k)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _write_csv(frame: pd.DataFrame, path):
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["claim_id", "line_no"], ignore_index=True)


def test_a_batch_is_one_part_per_service_month_and_a_window_opens_only_its_months(store, tmp_path, tiny_claims):
    claims = _months_of_claims(tiny_claims, 5)
    store.ingest([_write_csv(claims, tmp_path / "five-months.csv")], chunk_rows=50)
    batch = store.batches().iloc[0]
    everything = store.files()
    assert [p.name for p in everything] == ["2025-03.parquet", "2025-04.parquet", "2025-05.parquet",
                                            "2025-06.parquet", "2025-07.parquet"]
    assert {p.parent.name for p in everything} == {batch["parquet_name"]}
    window = store.files("2025-04-20", "2025-05-31")
    assert [p.name for p in window] == ["2025-04.parquet", "2025-05.parquet"]
    expected = claims[(claims.service_date >= "2025-04-20") & (claims.service_date <= "2025-05-31")]
    assert len(expected) > 0
    pd.testing.assert_frame_equal(_sorted(store.claims("2025-04-20", "2025-05-31")), _sorted(expected))
    pd.testing.assert_frame_equal(_sorted(store.claims()), _sorted(claims))
    assert store.files("2026-01-01", "2026-02-01") == []


def test_a_part_is_sorted_by_provider_so_a_few_providers_read_a_few_row_groups(store, tmp_path, tiny_claims,
                                                                                monkeypatch):
    monkeypatch.setattr(parts_module, "ROW_GROUP_ROWS", 8)
    store.ingest([_write_csv(tiny_claims.sample(frac=1.0, random_state=3), tmp_path / "shuffled.csv")])
    (part,) = store.files()
    meta = pq.ParquetFile(part).metadata
    assert meta.num_row_groups == -(-len(tiny_claims) // 8)
    column = PARQUET_SCHEMA.get_field_index("provider_id")
    spans = [(meta.row_group(i).column(column).statistics.min, meta.row_group(i).column(column).statistics.max)
             for i in range(meta.num_row_groups)]
    assert all(lo <= hi for lo, hi in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1)), "row groups overlap in provider_id"
    ring = ["PRV-LAB-R"]
    touched = [i for i, (lo, hi) in enumerate(spans) if lo <= ring[0] <= hi]
    assert len(touched) <= 2 < meta.num_row_groups
    lines = store.claims(any_of={"provider_id": ring})
    assert sorted(lines["claim_id"]) == sorted(tiny_claims.loc[tiny_claims.provider_id.isin(ring), "claim_id"])


def test_the_stored_order_does_not_depend_on_the_order_of_the_file(settings, tmp_path, tiny_claims):
    with ClaimsStore(settings.home_path / "a") as a, ClaimsStore(settings.home_path / "b") as b:
        a.ingest([_write_csv(tiny_claims, tmp_path / "a.csv")])
        b.ingest([_write_csv(tiny_claims.iloc[::-1], tmp_path / "b.csv")])
        pd.testing.assert_frame_equal(a.claims(), b.claims())


def test_duplicates_are_found_across_chunks_files_and_batches(store, tmp_path, tiny_claims):
    first = store.ingest([_write_csv(tiny_claims.iloc[:40], tmp_path / "a.csv")], chunk_rows=7)
    assert (first.loaded, first.quarantined) == (40, 0)
    again = pd.concat([tiny_claims.iloc[30:], tiny_claims.iloc[50:52], tiny_claims.iloc[[45]]], ignore_index=True)
    report = store.ingest([_write_csv(again, tmp_path / "b.csv")], chunk_rows=7)
    # 10 lines of batch a, then lines 50-51 and 45 once more in this file
    assert report.by_rule == {"DUPLICATE_KEY": 13}
    assert report.loaded == len(tiny_claims) - 40
    messages = store.quarantine(source_name="b.csv")[["line", "message"]]
    loaded_before = messages[messages["message"].str.contains("already loaded in batch")]
    assert sorted(loaded_before["line"]) == list(range(2, 12))
    seen = messages[messages["message"].str.contains("already seen in this file")].sort_values("line")
    assert seen["line"].tolist() == [len(tiny_claims) - 30 + 2 + i for i in range(3)]
    assert seen["message"].tolist() == [f"(claim_id, line_no) already seen in this file at line {line}" for line in
                                        (50 - 30 + 2, 51 - 30 + 2, 45 - 30 + 2)]
    assert len(store.claims()) == len(tiny_claims)


def test_fingerprints_tell_keys_apart_and_find_them_again():
    ids = pa.array(["CLM-1", "CLM-1", "CLM-10", "A" * 64, "A" * 63 + "B", "", "CLM-1"])
    line_no = np.array([1, 2, 1, 1, 1, 1, 1])
    h1, h2 = fingerprints(ids, line_no)
    pairs = set(zip(h1.tolist(), h2.tolist()))
    assert len(pairs) == 6 and (h1[0], h2[0]) == (h1[6], h2[6])
    again = fingerprints(ids.slice(2), line_no[2:])
    assert np.array_equal(again[0], h1[2:]) and np.array_equal(again[1], h2[2:])
    alone = fingerprints(pa.array(["CLM-1"]), np.array([1]))
    assert (alone[0][0], alone[1][0]) == (h1[0], h2[0]), "a key's fingerprint depends on the keys beside it"
    keys = FileKeys()
    for start in range(0, 6, 2):
        keys.add(h1[start:start + 2], h2[start:start + 2], np.arange(start, start + 2) + 2)
    assert keys.find(h1[6:], h2[6:]).tolist() == [2]
    stored = keys.sorted_keys()
    assert (np.diff(stored[0].astype(object)) >= 0).all()
    assert find_in(stored[0], stored[1], h1[[3, 6]], h2[[3, 6]]).tolist() != [-1, -1]
    assert find_in(stored[0], stored[1], h2[:1], h1[:1]).tolist() == [-1]


def test_keys_looked_up_in_any_order_find_their_own_positions():
    rng = np.random.default_rng(3)
    h1 = rng.integers(0, 60, 500).astype(np.uint64)  # many equal first halves
    h2 = rng.integers(0, 2 ** 62, 500).astype(np.uint64)
    order = np.argsort(h1, kind="stable")
    stored_1, stored_2 = h1[order], h2[order]
    absent = rng.integers(2 ** 62, 2 ** 63, 100).astype(np.uint64)
    pick = rng.permutation(500)[:300]
    q1 = np.concatenate([h1[pick], h1[:100]])
    q2 = np.concatenate([h2[pick], absent])
    shuffle = rng.permutation(len(q1))
    found = find_in(stored_1, stored_2, q1[shuffle], q2[shuffle])
    where = {(a, b): i for i, (a, b) in enumerate(zip(stored_1.tolist(), stored_2.tolist()))}
    assert found.tolist() == [where.get(key, -1) for key in zip(q1[shuffle].tolist(), q2[shuffle].tolist())]


def test_keys_are_ordered_by_both_halves_then_position_even_when_first_halves_collide():
    h1 = np.array([5, 3, 5, 3, 5, 9], dtype=np.uint64)
    h2 = np.array([2, 1, 1, 1, 2, 0], dtype=np.uint64)  # (5, 2) twice, (3, 1) twice, (5, 1) shares its first half
    assert _key_order(h1, h2).tolist() == [1, 3, 2, 0, 4, 5]
    same = np.array([4, 4, 1], dtype=np.uint64)
    assert _key_order(same, np.array([7, 7, 0], dtype=np.uint64)).tolist() == [2, 0, 1]


def _old_layout_home(home, tiny_claims) -> str:
    """A home as the former store wrote it: one Parquet file per batch and its keys in claim_keys."""
    with ClaimsStore(home):
        pass
    batch_id = "b0123456789abcdef012"
    table = pa.Table.from_pandas(tiny_claims, preserve_index=False).cast(PARQUET_SCHEMA)
    pq.write_table(table, home / "claims" / f"{batch_id}.parquet")
    with sqlite3.connect(home / "shabaka.sqlite") as conn:
        conn.execute("INSERT INTO claim_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (batch_id, "old.csv", "contract", "f" * 64, f"{batch_id}.parquet", "e" * 64, len(tiny_claims),
                      "2025-03-30T00:00:00+00:00", "2025-03-03", "2025-03-22"))
        conn.executemany("INSERT INTO claim_keys VALUES (?, ?, ?)",
                         zip(tiny_claims["claim_id"], tiny_claims["line_no"].astype(int).tolist(),
                             [batch_id] * len(tiny_claims)))
        conn.execute("INSERT INTO claim_loads (source_name, sha256, source_format, batch_id, status, read, loaded,"
                     " quarantined, by_rule_json, started_at, finished_at) VALUES ('old.csv', ?, 'contract', ?,"
                     " 'loaded', ?, ?, 0, '{}', '', '')", ("f" * 64, batch_id, len(tiny_claims), len(tiny_claims)))
    return batch_id


def test_a_home_of_the_former_layout_is_read_then_rewritten_by_the_next_ingest(settings, tmp_path, tiny_claims):
    home = settings.home_path
    batch_id = _old_layout_home(home, tiny_claims)
    with ClaimsStore(home) as store:
        assert store.files() == [home / "claims" / f"{batch_id}.parquet"]
        pd.testing.assert_frame_equal(_sorted(store.claims()), _sorted(tiny_claims))
        assert len(store.claims("2025-03-10", "2025-03-12")) == int(tiny_claims.service_date.between(
            "2025-03-10", "2025-03-12").sum())
        newer = tiny_claims.iloc[:3].assign(claim_id=lambda f: f["claim_id"] + "-NEW")
        report = store.ingest([_write_csv(pd.concat([tiny_claims.iloc[:2], newer]), tmp_path / "next.csv")])
        assert (report.loaded, report.by_rule) == (3, {"DUPLICATE_KEY": 2})
        assert "already loaded in batch " + batch_id in store.quarantine()["message"].iloc[0]
        batches = store.batches().set_index("batch_id")
        assert batches.loc[batch_id, "parquet_name"] == batch_id
        assert not (home / "claims" / f"{batch_id}.parquet").exists()
        assert [p.parent.name for p in store.files(batch_ids=[batch_id])] == [batch_id]
        pd.testing.assert_frame_equal(_sorted(store.claims(batch_ids=[batch_id])), _sorted(tiny_claims))
        assert len(store.claims()) == len(tiny_claims) + 3
    with sqlite3.connect(home / "shabaka.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM claim_keys").fetchone() == (0,)
        loads = conn.execute("SELECT read, loaded, quarantined FROM claim_loads ORDER BY load_id").fetchall()
    assert loads[-1] == (5, 3, 2)


def test_a_migration_killed_before_its_commit_leaves_the_former_batch_whole(settings, tiny_claims, monkeypatch):
    home = settings.home_path
    batch_id = _old_layout_home(home, tiny_claims)

    def crash(self):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(parts_module.BatchWriter, "publish", crash)
    with ClaimsStore(home) as store:
        with pytest.raises(KeyboardInterrupt):
            store.ingest([])
        assert store.files() == [home / "claims" / f"{batch_id}.parquet"]
        assert sorted(p.name for p in (home / "claims").iterdir()) == [".ingest.lock", f"{batch_id}.parquet"]
        assert len(store.claims()) == len(tiny_claims)
    monkeypatch.undo()
    with ClaimsStore(home) as store:
        store.ingest([])
        assert [p.parent.name for p in store.files()] == [batch_id]
        assert len(store.claims()) == len(tiny_claims)



def test_fingerprints_stay_those_of_the_key_files_already_written():
    # values of the first implementation: a batch committed by it must still be found by a later load
    ids = pa.array(["CLM-1", "", "FS0000000001", "x" * 64, "é-ß-漢字", "ABCDEFGH", "ABCDEFGHI", "FS0000000002"])
    h1, h2 = fingerprints(ids, np.array([1, 2, 3, 999999999, 5, 6, 7, 1]))
    assert [hex(v) for v in h1.tolist()] == [
        "0x8e2f72df33b04659", "0x975835de1c9756ce", "0xd8e57d6751b1b13e", "0x36f3e443d1a14cb2",
        "0xce69e38bfa63f9b7", "0x2181eb49bf96641f", "0x2daa3d67f13ec826", "0xe7276bd5fe14b334"]
    assert [hex(v) for v in h2.tolist()] == [
        "0xf33e1382c171b81f", "0xde0dd7eb3aacbec3", "0x7f49964415926898", "0x5215f3080fdb0afd",
        "0x80a1504e007d46e6", "0xf4455445a3e97f4d", "0x2f0d71155cd18153", "0xf57a53198f7e0b59"]
    same_width = pa.array(["FS0000000009", "FS0000000001", "FS0000000002"]).slice(1)
    assert [h.tolist() for h in fingerprints(same_width, np.array([3, 1]))] == [h1[[2, 7]].tolist(), h2[[2, 7]].tolist()]


@pytest.mark.parametrize("longest_line_no", [40, 1 << 30])
def test_the_part_order_is_arrows_sort_by_provider_date_claim_and_line(longest_line_no):
    from ingest.parts import sort_order

    rng = np.random.default_rng(5)
    n = 5000
    names = np.array(["PRV-B", "PRV-A", "prv-a", "PRV-É", "PRV-A2", "PRV-\u0660"], dtype=object)
    claims = rng.integers(0, 1500, n)
    lines = rng.integers(1, longest_line_no, n)
    unique = pd.DataFrame({"c": claims, "l": lines}).drop_duplicates().index.to_numpy()
    table = pa.table({
        "provider_id": pa.array(names[rng.integers(0, len(names), n)][unique].tolist()),
        "service_date": pa.array(rng.integers(20000, 20030, n)[unique].astype("int32")).cast(pa.date32()),
        "claim_id": pa.array([f"C{c}" for c in claims[unique]]),
        "line_no": pa.array(lines[unique]),
    }).slice(3)
    expected = pc.sort_indices(table, sort_keys=[(c, "ascending") for c in table.column_names])
    assert sort_order(table).tolist() == expected.to_numpy().tolist()
