"""The evidence bundle: layout, every graph format read back, CSVs, audit entry, access."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import jsonschema
import networkx as nx
import pandas as pd
import pytest

from ingest.schema import CLAIM_COLUMNS
from casework.audit import AuditLog
from ground.errors import AccessDenied, NotFound
from export import export_ring, verify_bundle
from export.manifest import payload_hash

CYTOSCAPE_SCHEMA = {
    "type": "object",
    "required": ["elements"],
    "properties": {
        "elements": {
            "type": "object",
            "required": ["nodes", "edges"],
            "properties": {
                "nodes": {"type": "array", "items": {
                    "type": "object", "required": ["data"],
                    "properties": {"data": {"type": "object", "required": ["id", "label", "node_type"],
                                            "properties": {"id": {"type": "string"}}}}}},
                "edges": {"type": "array", "items": {
                    "type": "object", "required": ["data"],
                    "properties": {"data": {"type": "object", "required": ["id", "source", "target"],
                                            "properties": {"source": {"type": "string"},
                                                           "target": {"type": "string"}}}}}},
            },
        }
    },
}


@pytest.fixture
def bundle(ring_bundle):
    return ring_bundle


def _read(bundle, name) -> bytes:
    with zipfile.ZipFile(bundle) as zf:
        return zf.read(name)


def _member_nodes(bundle) -> set[str]:
    members = pd.read_csv(io.BytesIO(_read(bundle, "data/members.csv")), dtype=str)
    return {f"{t}:{i}" for t, i in zip(members["entity_type"], members["entity_id"])}


def test_bundle_has_bagit_layout_and_every_file(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        dates = {zi.date_time for zi in zf.infolist()}
    assert names == sorted(names)
    assert dates == {(1980, 1, 1, 0, 0, 0)}
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt",
                 "data/graph/ring.graphml", "data/graph/ring.gexf", "data/graph/ring.cyjs",
                 "data/graph/neo4j/nodes.csv", "data/graph/neo4j/relationships.csv", "data/graph/neo4j/load.cypher",
                 "data/graph/gephi/nodes.csv", "data/graph/gephi/edges.csv", "data/claims.csv", "data/members.csv",
                 "data/ring.csv", "data/report.html", "data/report.pdf", "data/audit-entry.json", "data/run.json"):
        assert name in names
    assert _read(bundle, "bagit.txt").startswith(b"BagIt-Version: 1.0")
    assert verify_bundle(bundle).ok


def test_graphml_and_gexf_read_back_with_the_ring_members(bundle, planted_ring):
    members = _member_nodes(bundle)
    for name, reader in (("data/graph/ring.graphml", nx.read_graphml), ("data/graph/ring.gexf", nx.read_gexf)):
        G = reader(io.BytesIO(_read(bundle, name)))
        assert members <= set(G.nodes), name
        assert {f"PROVIDER:{p}" for p in planted_ring["providers"]} <= set(G.nodes)
        assert G.number_of_edges() > 0
        assert G.nodes[f"PROVIDER:{sorted(planted_ring['providers'])[0]}"]["node_type"] == "PROVIDER"


def test_cytoscape_json_matches_its_schema_and_the_graphml(bundle):
    data = json.loads(_read(bundle, "data/graph/ring.cyjs"))
    jsonschema.validate(data, CYTOSCAPE_SCHEMA)
    G = nx.read_graphml(io.BytesIO(_read(bundle, "data/graph/ring.graphml")))
    assert {n["data"]["id"] for n in data["elements"]["nodes"]} == set(G.nodes)
    assert len(data["elements"]["edges"]) == G.number_of_edges()


def test_neo4j_csv_headers_and_load_script_cover_every_label_and_type(bundle):
    nodes = list(csv.reader(io.StringIO(_read(bundle, "data/graph/neo4j/nodes.csv").decode())))
    rels = list(csv.reader(io.StringIO(_read(bundle, "data/graph/neo4j/relationships.csv").decode())))
    assert nodes[0][:2] == ["node_id:ID", ":LABEL"]
    assert rels[0][:3] == [":START_ID", ":END_ID", ":TYPE"]
    script = _read(bundle, "data/graph/neo4j/load.cypher").decode()
    assert "CREATE CONSTRAINT" in script
    assert script.count("LOAD CSV WITH HEADERS FROM 'file:///nodes.csv'") == len({r[1] for r in nodes[1:]})
    for rel_type in {r[2] for r in rels[1:]}:
        assert f"MERGE (a)-[r:`{rel_type}`]->(b)" in script
    gephi_nodes = _read(bundle, "data/graph/gephi/nodes.csv").decode().splitlines()[0].split(",")
    gephi_edges = _read(bundle, "data/graph/gephi/edges.csv").decode().splitlines()[0].split(",")
    assert gephi_nodes[:2] == ["Id", "Label"]
    assert gephi_edges[:4] == ["Source", "Target", "Type", "Weight"]


def test_claims_members_and_ring_csv_follow_the_contracts(bundle, export_home, planted_ring):
    claims = pd.read_csv(io.BytesIO(_read(bundle, "data/claims.csv")), dtype=str)
    assert tuple(claims.columns) == (*CLAIM_COLUMNS, "at_risk")
    assert set(claims["beneficiary_id"]) == planted_ring["beneficiaries"]
    members = pd.read_csv(io.BytesIO(_read(bundle, "data/members.csv")))
    assert list(members.columns) == ["ring_id", "entity_type", "entity_id", "role", "score", "evidence"]
    ring = pd.read_csv(io.BytesIO(_read(bundle, "data/ring.csv")))
    assert ring.loc[0, "ring_id"] == export_home.ring_id
    assert ring.loc[0, "size"] == len(members)
    assert ring.loc[0, "amount_at_risk"] == pytest.approx(export_home.amount_at_risk)


def test_lines_flagged_at_risk_add_up_to_the_rings_amount_at_risk(bundle, export_home):
    claims = pd.read_csv(io.BytesIO(_read(bundle, "data/claims.csv")))
    at_risk = claims.loc[claims["at_risk"].astype(bool), "amount_claimed"].sum()
    assert claims["at_risk"].any()
    assert at_risk == pytest.approx(export_home.amount_at_risk)
    assert f"{export_home.amount_at_risk:,.2f} MAD" in _read(bundle, "data/report.html").decode("utf-8")


def test_export_is_logged_in_the_audit_log_with_the_payload_hash(bundle, export_home):
    entry = json.loads(_read(bundle, "data/audit-entry.json"))
    manifest = _read(bundle, "manifest-sha256.txt").decode()
    assert entry["params"]["payload_sha256"] == payload_hash(manifest)
    assert entry["params"]["ring_id"] == export_home.ring_id
    assert entry["params"]["run_id"] == export_home.run_id
    assert entry["params"]["pseudonymised"] is False
    with AuditLog(export_home.settings.home_path) as audit:
        logged = audit.entries(limit=1, action="export")[0]
        assert audit.verify().ok
    assert logged["hash"] == entry["hash"]
    assert logged["actor"] == "cli"


def test_two_exports_differ_only_in_the_audit_entry(bundle, export_home, tmp_path):
    again = export_ring(export_home.settings, export_home.ring_id, tmp_path / "again.zip")
    with zipfile.ZipFile(bundle) as a, zipfile.ZipFile(again) as b:
        assert a.namelist() == b.namelist()
        differ = {n for n in a.namelist() if a.read(n) != b.read(n)}
    assert differ == {"data/audit-entry.json", "manifest-sha256.txt", "tagmanifest-sha256.txt"}


def test_analyst_may_export_only_pseudonymised(export_home, tmp_path):
    with pytest.raises(AccessDenied):
        export_ring(export_home.settings, export_home.ring_id, tmp_path / "a.zip", role="analyst")
    with pytest.raises(AccessDenied):
        export_ring(export_home.settings, export_home.ring_id, tmp_path / "v.zip", role="viewer", pseudonymise=True)
    assert not (tmp_path / "a.zip").exists()
    out = export_ring(export_home.settings, export_home.ring_id, tmp_path / "p.zip", role="analyst",
                      pseudonymise=True, actor="amina")
    assert verify_bundle(out).ok


def test_unknown_ring_or_run_is_not_found_and_writes_nothing(export_home, tmp_path):
    with pytest.raises(NotFound, match="RING-NOPE"):
        export_ring(export_home.settings, "RING-NOPE", tmp_path / "x.zip")
    with pytest.raises(NotFound, match="run-nope"):
        export_ring(export_home.settings, export_home.ring_id, tmp_path / "x.zip", run_id="run-nope")
    assert list(tmp_path.glob("*.zip")) == []
