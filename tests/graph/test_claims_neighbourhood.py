"""One source of truth for the claims edges: build_graph, claim_edges and the viewer's neighbourhood from claims."""

from __future__ import annotations

import pandas as pd
import pytest

from graph.build import CLAIM_EDGE_INPUTS, CLAIM_EDGES, EDGE_TYPES, IDENTIFIER_COLUMNS, build_graph, claim_edges
from graph.sqlite_store import SqliteGraphStore
from graph.store import claims_neighbourhood
from ingest.schema import ENTITY_COLUMNS

COMPARED = ["source", "target", "edge_type", "n_claims", "n_lines", "amount", "first_date", "last_date",
            "n_prior_auth"]


def _reader(claims: pd.DataFrame, reads: list[dict[str, set[str]]] | None = None):
    def read(any_of: dict[str, set[str]]) -> pd.DataFrame:
        if reads is not None:
            reads.append(any_of)
        hit = pd.Series(False, index=claims.index)
        for column, ids in any_of.items():
            hit |= claims[column].isin(ids).fillna(False)
        return claims.loc[hit, list(CLAIM_EDGE_INPUTS)]
    return read


def _comparable(edges: pd.DataFrame) -> pd.DataFrame:
    out = edges[COMPARED].copy()
    for column in ("source", "target", "edge_type"):
        out[column] = out[column].astype(str)
    for column in ("first_date", "last_date"):
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    for column in ("n_claims", "n_lines", "n_prior_auth"):
        out[column] = out[column].astype("int64")
    return out.sort_values(["source", "target", "edge_type"], ignore_index=True)


def test_claims_edge_types_are_the_graphs_edge_types():
    for edge_type, (source, target) in CLAIM_EDGES.items():
        source_type, target_type = EDGE_TYPES[edge_type]
        assert ENTITY_COLUMNS[source_type] == source
        if target_type == "IDENTIFIER":
            assert any(column == target and kind == edge_type for column, kind in IDENTIFIER_COLUMNS.values())
        else:
            assert ENTITY_COLUMNS[target_type] == target
    # every edge type but the inferred intermediaries' is made by claim lines
    assert set(EDGE_TYPES) - set(CLAIM_EDGES) == {"RECRUITED", "USES"}


def test_claim_edges_are_the_edges_build_graph_stores(tiny_claims):
    built = build_graph(tiny_claims).edges
    alone = claim_edges(tiny_claims[list(CLAIM_EDGE_INPUTS)])
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), built.reset_index(drop=True))
    # the payee account of a provider-direct dossier links no patients, in both
    assert set(alone["edge_type"]) >= {"CLAIMED_AT", "WORKS_AT", "TREATED", "USED_PHONE"}


@pytest.mark.parametrize("node", ["PROVIDER:PRV-CLINIC-R", "DOCTOR:DOC-R", "BENEFICIARY:BEN-R0", "PHONE:PHONE-R",
                                  "PROVIDER:PRV-CLINIC-A"])
@pytest.mark.parametrize(("hops", "limit"), [(1, 500), (2, 500), (3, 2000), (2, 7), (1, 3)])
def test_the_neighbourhood_from_claims_is_the_graph_stores(tmp_path, tiny_claims, node, hops, limit):
    """Same edges (types, directions, aggregates), same cap, same count of what the cap left out."""
    with SqliteGraphStore(tmp_path / "home") as store:
        store.write(build_graph(tiny_claims))
        stored = store.neighbourhood(node, hops=hops, limit=limit)
    computed = claims_neighbourhood(_reader(tiny_claims), node, hops=hops, limit=limit)
    assert len(stored.edges) > 0
    pd.testing.assert_frame_equal(_comparable(computed.edges), _comparable(stored.edges))
    assert computed.omitted == stored.omitted
    assert set(computed.nodes["node_id"]) == set(stored.nodes["node_id"])


def test_each_hop_reads_only_the_lines_of_the_nodes_it_reached(tiny_claims):
    reads: list[dict[str, set[str]]] = []
    claims_neighbourhood(_reader(tiny_claims, reads), "PROVIDER:PRV-CLINIC-R", hops=2, limit=500)
    assert reads[0] == {"provider_id": {"PRV-CLINIC-R"}}
    assert len(reads) == 2
    # the second hop reads the lines of the nodes the first one reached, never the start's again
    assert "PRV-CLINIC-R" not in reads[1].get("provider_id", set())
    assert reads[1]["beneficiary_id"] and reads[1]["doctor_id"] == {"DOC-R"}
