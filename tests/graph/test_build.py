"""The typed graph: node and edge types, and aggregates equal to hand counts."""

from __future__ import annotations

import pandas as pd

from graph.build import EDGE_COLUMNS, build_graph


def _edge(graph, source, target):
    rows = graph.edges[(graph.edges["source"] == source) & (graph.edges["target"] == target)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_node_types_are_counted_by_hand(tiny_claims):
    graph = build_graph(tiny_claims)
    counts = graph.nodes["node_type"].value_counts().to_dict()
    assert counts == {"BENEFICIARY": 32, "PHONE": 13, "PROVIDER": 6, "DOCTOR": 4, "SUBMISSION_POINT": 2,
                      "ACCOUNT": 1}
    assert (graph.nodes["node_id"] == graph.nodes["node_type"] + ":" + graph.nodes["entity_id"]).all()


def test_edge_types_are_counted_by_hand(tiny_claims):
    counts = build_graph(tiny_claims).edges["edge_type"].value_counts().to_dict()
    # 24 ordinary patients x 1 provider + 8 ring patients x 2 providers
    assert counts["CLAIMED_AT"] == 40
    assert counts["TREATED"] == 32
    assert counts["USED_PHONE"] == 32
    assert counts["PAID_TO"] == 8
    assert counts["SUBMITTED_AT"] == 32
    assert counts["WORKS_AT"] == 14


def test_ring_edges_aggregate_amounts_families_and_prior_authorisations(tiny_claims):
    graph = build_graph(tiny_claims)
    works = _edge(graph, "DOCTOR:DOC-R", "PROVIDER:PRV-CLINIC-R")
    assert (works["n_claims"], works["n_lines"], works["amount"], works["amount_surgery"]) == (8, 8, 48000.0, 48000.0)
    assert works["n_prior_auth"] == 8
    paid = _edge(graph, "BENEFICIARY:BEN-R3", "ACCOUNT:RIB-R")
    assert (paid["n_claims"], paid["n_lines"], paid["amount"]) == (1, 2, 6480.0)
    assert (paid["amount_surgery"], paid["amount_biology"], paid["n_prior_auth"]) == (6000.0, 480.0, 1)
    assert paid["first_date"] == pd.Timestamp("2025-03-12") == paid["last_date"]


def test_claimed_at_edges_equal_a_plain_group_by(tiny_claims):
    graph = build_graph(tiny_claims)
    expected = tiny_claims.groupby(["beneficiary_id", "provider_id"]).agg(
        n_claims=("claim_id", "nunique"), n_lines=("claim_id", "size"), amount=("amount_claimed", "sum"),
        first_date=("service_date", "min"), last_date=("service_date", "max")).reset_index()
    edges = graph.edges[graph.edges["edge_type"] == "CLAIMED_AT"]
    got = edges.assign(beneficiary_id=edges["source"].str.removeprefix("BENEFICIARY:"),
                       provider_id=edges["target"].str.removeprefix("PROVIDER:"))
    merged = expected.merge(got, on=["beneficiary_id", "provider_id"], suffixes=("", "_got"))
    assert len(merged) == len(expected) == len(got)
    for column in ("n_claims", "n_lines", "amount", "first_date", "last_date"):
        assert (merged[column] == merged[f"{column}_got"]).all(), column


def test_edges_have_the_contract_columns_and_family_amounts_sum_to_amount(tiny_claims):
    edges = build_graph(tiny_claims).edges
    assert tuple(edges.columns) == EDGE_COLUMNS
    families = edges[[c for c in edges.columns if c.startswith("amount_")]].sum(axis=1)
    assert (families.round(2) == edges["amount"]).all()


def test_node_attributes_come_from_the_claims_and_the_providers_file(tiny_claims):
    providers = pd.DataFrame({"provider_id": ["PRV-CLINIC-R"], "name": ["Clinique Test"],
                              "provider_type": ["CLINIC"], "region": ["06"]})
    nodes = build_graph(tiny_claims, providers=providers).nodes.set_index("node_id")
    assert nodes.loc["PROVIDER:PRV-CLINIC-R", "label"] == "Clinique Test"
    assert nodes.loc["PROVIDER:PRV-LAB-R", "label"] == "PRV-LAB-R"
    assert nodes.loc["PROVIDER:PRV-CLINIC-R", "provider_type"] == "CLINIC"
    assert nodes.loc["DOCTOR:DOC-R", "specialty"] == "CHIRURGIE_GENERALE"
    assert nodes.loc["BENEFICIARY:BEN-001", "household_id"] == "BEN-000"
    assert nodes.loc["BENEFICIARY:BEN-R0", "regime"] == "TADAMON"


def test_provider_direct_accounts_are_not_shared_identifiers(tiny_claims):
    claims = tiny_claims.copy()
    claims["payee_account"] = pd.array(["RIB-CLINIC"] * len(claims), dtype="string")
    claims["channel"] = pd.array(["PROVIDER_DIRECT"] * len(claims), dtype="string")
    graph = build_graph(claims)
    assert "ACCOUNT" not in set(graph.nodes["node_type"])
    assert "PAID_TO" not in set(graph.edges["edge_type"])


def test_row_order_does_not_change_the_graph(tiny_claims):
    first = build_graph(tiny_claims)
    shuffled = build_graph(tiny_claims.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(first.nodes, shuffled.nodes)
    pd.testing.assert_frame_equal(first.edges, shuffled.edges)


def test_intermediaries_add_recruited_and_uses_edges(tiny_graph, planted_ring):
    inter = tiny_graph.nodes[tiny_graph.nodes["node_type"] == "INTERMEDIARY"]
    assert len(inter) == 1
    node = inter["node_id"].iloc[0]
    recruited = tiny_graph.edges[(tiny_graph.edges["source"] == node) & (tiny_graph.edges["edge_type"] == "RECRUITED")]
    assert set(recruited["target"]) == {f"BENEFICIARY:{b}" for b in planted_ring["beneficiaries"]}
    uses = tiny_graph.edges[(tiny_graph.edges["source"] == node) & (tiny_graph.edges["edge_type"] == "USES")]
    assert {"PHONE:PHONE-R", "ACCOUNT:RIB-R"} <= set(uses["target"])
    assert uses.set_index("target").loc["PHONE:PHONE-R", "amount"] == 8 * 6480.0


def test_to_networkx_materialises_only_the_nodes_asked(tiny_graph):
    wanted = ["PROVIDER:PRV-CLINIC-R", "DOCTOR:DOC-R", "BENEFICIARY:BEN-R0", "BENEFICIARY:BEN-000"]
    G = tiny_graph.to_networkx(wanted)
    assert set(G.nodes) == set(wanted)
    assert G.number_of_edges() == 3
    data = G.edges["DOCTOR:DOC-R", "PROVIDER:PRV-CLINIC-R"]
    assert data["weight"] == 8 and data["edge_type"] == "WORKS_AT" and data["first_date"] == "2025-03-12"
    assert G.nodes["PROVIDER:PRV-CLINIC-R"]["node_type"] == "PROVIDER"
    full = tiny_graph.to_networkx()
    assert (full.number_of_nodes(), full.number_of_edges()) == (len(tiny_graph.nodes), len(tiny_graph.edges))
