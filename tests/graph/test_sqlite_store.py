"""The embedded store: write, neighbourhood (hops, cap, omitted, window), search, replacement, atomic builds."""

from __future__ import annotations

import os
import sqlite3

import pandas as pd
import pytest

from graph.build import build_graph, graph_parts
from graph.sqlite_store import SqliteGraphStore
from graph.store import open_graph_store
from ground.errors import InputRefused, NotFound, StoreError


def test_one_hop_returns_every_edge_of_the_entity_heaviest_first(tiny_store):
    hood = tiny_store.neighbourhood("PROVIDER:PRV-CLINIC-R", hops=1)
    assert hood.omitted == 0
    assert len(hood.edges) == 9  # 8 patients and the surgeon
    assert hood.edges["target"].eq("PROVIDER:PRV-CLINIC-R").all()
    assert hood.edges["amount"].is_monotonic_decreasing
    assert hood.edges.iloc[0]["source"] == "DOCTOR:DOC-R"
    assert set(hood.nodes["node_id"]) == set(hood.edges["source"]) | {"PROVIDER:PRV-CLINIC-R"}
    assert hood.nodes.iloc[0]["node_id"] == "PROVIDER:PRV-CLINIC-R"


def test_the_cap_keeps_the_heaviest_edges_and_counts_the_rest(tiny_store):
    hood = tiny_store.neighbourhood("PRV-CLINIC-R", hops=1, limit=3)
    assert len(hood.edges) == 3 and hood.omitted == 6
    assert hood.edges.iloc[0]["amount"] == 48000.0


def test_two_hops_reach_the_ring_identifiers_within_the_cap(tiny_store):
    hood = tiny_store.neighbourhood("PROVIDER:PRV-CLINIC-R", hops=2, limit=500)
    nodes = set(hood.nodes["node_id"])
    assert {"PHONE:PHONE-R", "ACCOUNT:RIB-R", "PROVIDER:PRV-LAB-R"} <= nodes
    assert hood.omitted == 0
    capped = tiny_store.neighbourhood("PROVIDER:PRV-CLINIC-R", hops=2, limit=12)
    assert len(capped.edges) == 12
    # all 9 first-hop edges fit, so the second hop sees the same 49 edges as the uncapped walk and keeps 3
    assert capped.omitted == len(hood.edges) - 12
    assert capped.edges["amount"].is_monotonic_decreasing


def test_a_time_window_keeps_edges_active_in_it(tiny_store):
    everything = tiny_store.neighbourhood("PROVIDER:PRV-CLINIC-A", hops=1)
    late = tiny_store.neighbourhood("PROVIDER:PRV-CLINIC-A", hops=1, start="2025-03-10")
    assert everything.edges["edge_type"].eq("CLAIMED_AT").sum() == 6
    assert late.edges["edge_type"].eq("CLAIMED_AT").sum() == 3
    assert (late.edges["last_date"] >= "2025-03-10").all()
    early = tiny_store.neighbourhood("PROVIDER:PRV-CLINIC-A", hops=1, end="2025-03-07")
    patients = early.edges[early.edges["edge_type"] == "CLAIMED_AT"]
    assert (early.edges["first_date"] <= "2025-03-07").all()
    assert set(patients["source"]) == {"BENEFICIARY:BEN-000", "BENEFICIARY:BEN-004", "BENEFICIARY:BEN-020"}


def test_bare_entity_ids_and_unknown_ids(tiny_store):
    assert tiny_store.resolve("DOC-R") == ["DOCTOR:DOC-R"]
    with pytest.raises(NotFound):
        tiny_store.neighbourhood("NOBODY")
    with pytest.raises(InputRefused):
        tiny_store.neighbourhood("DOC-R", start="not a date")


def test_search_by_id_prefix_and_label(tiny_store):
    found = tiny_store.search("PRV-CLINIC")
    assert list(found["node_id"]) == ["PROVIDER:PRV-CLINIC-A", "PROVIDER:PRV-CLINIC-R"]
    assert tiny_store.search("INT-")["node_type"].eq("INTERMEDIARY").all()
    assert tiny_store.search("DOC-R").iloc[0]["node_id"] == "DOCTOR:DOC-R"
    assert tiny_store.search("   ").empty


def test_search_compares_only_the_types_asked_for(tiny_store):
    assert tiny_store.search("BEN-R")["node_type"].eq("BENEFICIARY").all()
    assert len(tiny_store.search("BEN-R"))
    assert tiny_store.search("BEN-R", types=["PROVIDER", "DOCTOR"]).empty
    assert list(tiny_store.search("PRV-CLINIC-R", types=["PROVIDER"])["node_id"]) == ["PROVIDER:PRV-CLINIC-R"]
    assert tiny_store.search("PRV_%", types=["PROVIDER"]).empty


def test_writing_again_replaces_the_previous_build(tmp_path, tiny_claims, tiny_graph):
    with SqliteGraphStore(tmp_path / "home") as store:
        store.write(tiny_graph)
        store.write(build_graph(tiny_claims[tiny_claims["provider_id"] == "PRV-LAB-R"]))
        assert store.meta()["n_edges"] == str(len(store.load_graph().edges))
        with pytest.raises(NotFound):
            store.resolve("PRV-CLINIC-A")


def test_the_stored_graph_reads_back_equal(tiny_store, tiny_graph):
    back = tiny_store.load_graph()
    assert list(back.edges["amount"]) == list(tiny_graph.edges.sort_values(["source", "target", "edge_type"])["amount"])
    assert set(back.nodes["node_id"]) == set(tiny_graph.nodes["node_id"])
    evidence = back.nodes.set_index("node_type").loc["INTERMEDIARY", "evidence"]
    assert evidence.startswith("8 unrelated households")


def test_neighbourhood_to_networkx_carries_omitted(tiny_store):
    G = tiny_store.neighbourhood("PRV-CLINIC-R", limit=2).to_networkx()
    assert G.number_of_edges() == 2 and G.graph["omitted"] == 7


def test_open_graph_store_is_embedded_without_neo4j(settings):
    store = open_graph_store(settings)
    try:
        assert isinstance(store, SqliteGraphStore)
        assert store.path == settings.home_path / "graph.sqlite"
    finally:
        store.close()


def test_a_graph_written_type_by_type_reads_back_as_the_graph_built_whole(tmp_path, tiny_claims,
                                                                          tiny_intermediaries, tiny_graph):
    providers = pd.DataFrame({"provider_id": ["PRV-CLINIC-R"], "name": ["Clinique R"], "region": ["06"]})
    parts = list(graph_parts(tiny_claims, providers=providers, intermediaries=tiny_intermediaries))
    assert {kind for kind, _ in parts} == {"nodes", "edges"}
    assert all(frame["node_type"].nunique() == 1 for kind, frame in parts if kind == "nodes")
    assert all(frame["edge_type"].nunique() <= 1 for kind, frame in parts if kind == "edges")
    with SqliteGraphStore(tmp_path / "home") as store:
        counts = store.write_parts(iter(parts))
        stored = store.load_graph()
        meta = store.meta()
    whole = build_graph(tiny_claims, providers=providers, intermediaries=tiny_intermediaries)
    assert counts == (len(whole.nodes), len(whole.edges))
    assert (meta["n_nodes"], meta["n_edges"]) == (str(len(whole.nodes)), str(len(whole.edges)))
    assert stored.nodes.set_index("node_id").loc["PROVIDER:PRV-CLINIC-R", "label"] == "Clinique R"
    expected = whole.edges.sort_values(["source", "target", "edge_type"], ignore_index=True)
    pd.testing.assert_frame_equal(stored.edges.astype({"edge_type": object, "source": object, "target": object}),
                                  expected.astype({"edge_type": object, "source": object, "target": object}),
                                  check_dtype=False)
    assert sorted(stored.nodes["node_id"]) == sorted(whole.nodes["node_id"])
    assert len(whole.edges) == len(tiny_graph.edges)


def test_edges_hold_integer_node_keys_and_the_link_points_at_the_one_current_build(tmp_path, tiny_graph):
    home = tmp_path / "home"
    with SqliteGraphStore(home) as store:
        store.write(tiny_graph)
        store.write(tiny_graph)
        kinds = set(store._conn.execute("SELECT DISTINCT typeof(source) || typeof(target) FROM edges").fetchall()[0])
        assert kinds == {"integerinteger"}
        keys = store._conn.execute("SELECT key FROM nodes ORDER BY node_id").fetchall()
        assert [k[0] for k in keys] == list(range(len(tiny_graph.nodes)))  # keys in node id order
    assert (home / "graph.sqlite").is_symlink()
    builds = sorted(p.name for p in (home / "graphs").iterdir() if p.suffix == ".sqlite")
    assert builds == [os.path.basename(os.readlink(home / "graph.sqlite"))]


def test_a_build_that_fails_half_way_leaves_the_previous_graph_and_no_debris(tmp_path, tiny_claims, tiny_graph):
    home = tmp_path / "home"
    with SqliteGraphStore(home) as store:
        store.write(tiny_graph)

        def broken():
            parts = graph_parts(tiny_claims[tiny_claims["provider_id"] == "PRV-LAB-R"])
            yield next(parts)
            yield next(parts)
            raise RuntimeError("killed")

        with pytest.raises(RuntimeError):
            store.write_parts(broken())
        assert store.meta()["n_edges"] == str(len(tiny_graph.edges))
        assert store.resolve("PRV-CLINIC-A") == ["PROVIDER:PRV-CLINIC-A"]
    assert [p.name for p in (home / "graphs").iterdir() if p.name.endswith(".tmp")] == []


def test_debris_of_a_killed_build_is_removed_by_the_next(tmp_path, tiny_graph):
    home = tmp_path / "home"
    with SqliteGraphStore(home) as store:
        store.write(tiny_graph)
        dead = 2 ** 22 + 12345  # above Linux's default pid_max: no such process
        (home / "graphs" / f".20250101T000000000000.{dead}.tmp").write_bytes(b"half a database")
        (home / "graphs" / "20250101T000000000000.sqlite").write_bytes(b"renamed, never linked")
        store.write(tiny_graph)
    names = sorted(p.name for p in (home / "graphs").iterdir())
    assert names == [os.path.basename(os.readlink(home / "graph.sqlite"))]


def test_a_graph_store_of_the_former_layout_is_refused_until_rebuilt(tmp_path, tiny_graph):
    home = tmp_path / "home"
    home.mkdir()
    with sqlite3.connect(home / "graph.sqlite") as conn:
        conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                           "CREATE TABLE nodes (node_id TEXT PRIMARY KEY, node_type TEXT, entity_id TEXT);"
                           "CREATE TABLE edges (source TEXT, target TEXT, edge_type TEXT);")
    with SqliteGraphStore(home) as store:
        with pytest.raises(StoreError, match="earlier version"):
            store.neighbourhood("PRV-CLINIC-R")
        store.write(tiny_graph)
        assert len(store.neighbourhood("PRV-CLINIC-R").edges) == 9
    assert not (home / "graph.sqlite-wal").exists()
