"""Writing any subgraph for tools that open without Shabaka.

GraphML and GEXF (Gephi, yEd, Cytoscape), Cytoscape JSON, networkx node-link
JSON, the CSV files of ``neo4j-admin database import``, and Gephi's nodes and
edges CSV. Attribute values are coerced first: empty values dropped, dates as
ISO strings, numpy scalars as Python ones, and one type per attribute key
(integers widened to floats, anything mixed to strings), because GraphML and
GEXF declare a single type per key.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from graph.build import EDGE_TYPES, LABELS

__all__ = ["FORMATS", "write_graph", "to_cytoscape", "to_node_link", "coerce_attributes"]

#: format -> what ``out_path`` is
FORMATS: dict[str, str] = {
    "json": "file", "graphml": "file", "gexf": "file", "cytoscape": "file",
    "neo4j-csv": "directory", "gephi-csv": "directory",
}


def write_graph(G: nx.Graph, fmt: str, out_path: str | Path) -> list[Path]:
    """Write ``G`` in ``fmt``.

    Parameters
    ----------
    G : nx.Graph
        Nodes ideally carry ``node_type``, ``entity_id``, ``label``; edges
        ``edge_type`` and ``weight``. Missing ones get neutral defaults.
    fmt : str
        One of :data:`FORMATS`.
    out_path : path
        A file, or for ``neo4j-csv`` and ``gephi-csv`` a directory (created).

    Returns
    -------
    list of Path
        The files written.
    """
    from ground.errors import InputRefused

    if fmt not in FORMATS:
        raise InputRefused(f"graph format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out_path = Path(out_path)
    H = coerce_attributes(G)
    if FORMATS[fmt] == "directory":
        out_path.mkdir(parents=True, exist_ok=True)
        return _write_neo4j_csv(H, out_path) if fmt == "neo4j-csv" else _write_gephi_csv(H, out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "graphml":
        nx.write_graphml(H, out_path)
    elif fmt == "gexf":
        nx.write_gexf(H, out_path)
    else:
        data = to_cytoscape(H) if fmt == "cytoscape" else to_node_link(H)
        out_path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    return [out_path]


def to_cytoscape(G: nx.Graph) -> dict:
    """Cytoscape.js JSON: ``{"elements": {"nodes": [{"data": {...}}], "edges": [{"data": {...}}]}}``."""
    H = coerce_attributes(G)
    nodes = [{"data": {**attrs, "id": str(n), "label": str(attrs.get("label", n))}}
             for n, attrs in sorted(H.nodes(data=True), key=lambda item: str(item[0]))]
    edges = []
    for i, (u, v, attrs) in enumerate(sorted(H.edges(data=True), key=lambda e: (str(e[0]), str(e[1])))):
        edges.append({"data": {**attrs, "id": f"e{i}", "source": str(u), "target": str(v)}})
    return {"elements": {"nodes": nodes, "edges": edges}}


def to_node_link(G: nx.Graph) -> dict:
    """networkx node-link data (keys ``nodes`` and ``edges``) with coerced attributes."""
    return nx.node_link_data(coerce_attributes(G), edges="edges")


def coerce_attributes(G: nx.Graph) -> nx.Graph:
    """A copy of ``G`` whose attributes GraphML and GEXF can write (see the module docstring)."""
    H = G.__class__()
    H.graph.update({k: _scalar(v) for k, v in G.graph.items() if _scalar(v) is not None})
    node_types = _key_types(attrs for _, attrs in G.nodes(data=True))
    edge_types = _key_types(attrs for _, _, attrs in G.edges(data=True))
    for n, attrs in G.nodes(data=True):
        H.add_node(str(n), **_coerced(attrs, node_types))
    for u, v, attrs in G.edges(data=True):
        H.add_edge(str(u), str(v), **_coerced(attrs, edge_types))
    return H


def _scalar(value: Any) -> Any:
    """A plain str/int/float/bool, or None for an empty value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _key_types(records) -> dict[str, type]:
    seen: dict[str, set[type]] = {}
    for attrs in records:
        for key, value in attrs.items():
            value = _scalar(value)
            if value is not None:
                seen.setdefault(key, set()).add(type(value))
    out = {}
    for key, types in seen.items():
        if len(types) == 1:
            out[key] = types.pop()
        elif types <= {int, float}:
            out[key] = float
        else:
            out[key] = str
    return out


def _coerced(attrs: dict, types: dict[str, type]) -> dict:
    out = {}
    for key, value in attrs.items():
        value = _scalar(value)
        if value is not None:
            out[key] = types[key](value)
    return out


def _node_fields(H: nx.Graph) -> tuple[list[str], dict[str, type]]:
    types = _key_types(attrs for _, attrs in H.nodes(data=True))
    fields = sorted(k for k in types if k not in {"node_type", "entity_id", "label"})
    return fields, types


def _edge_fields(H: nx.Graph) -> tuple[list[str], dict[str, type]]:
    types = _key_types(attrs for _, _, attrs in H.edges(data=True))
    fields = sorted(k for k in types if k not in {"edge_type"})
    return fields, types


_NEO4J_TYPES = {int: "long", float: "double", bool: "boolean", str: "string"}


def _label(attrs: dict) -> str:
    node_type = str(attrs.get("node_type", "NODE"))
    return LABELS.get(node_type, node_type.title().replace("_", ""))


def _write_neo4j_csv(H: nx.Graph, out_dir: Path) -> list[Path]:
    """``nodes.csv`` and ``relationships.csv`` for ``neo4j-admin database import full``.

    Ids are node ids (``PROVIDER:PRV-1``), unique across labels even when a doctor
    and a provider share an entity id; the entity id is kept as a property.
    """
    fields, types = _node_fields(H)
    nodes_path, edges_path = out_dir / "nodes.csv", out_dir / "relationships.csv"
    with nodes_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["node_id:ID", ":LABEL", "entity_id", "label", "node_type"]
                        + [f"{f}:{_NEO4J_TYPES[types[f]]}" for f in fields])
        for n, attrs in sorted(H.nodes(data=True)):
            writer.writerow([n, _label(attrs) + ";Entity", attrs.get("entity_id", n), attrs.get("label", n),
                             attrs.get("node_type", "NODE")] + [_csv_value(attrs.get(f)) for f in fields])
    efields, etypes = _edge_fields(H)
    with edges_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([":START_ID", ":END_ID", ":TYPE"] + [f"{f}:{_NEO4J_TYPES[etypes[f]]}" for f in efields])
        for u, v, attrs in sorted(H.edges(data=True), key=lambda e: (e[0], e[1])):
            u, v = _oriented(H, u, v, attrs)
            writer.writerow([u, v, attrs.get("edge_type", "LINKED")] + [_csv_value(attrs.get(f)) for f in efields])
    readme = out_dir / "IMPORT.txt"
    readme.write_text(
        "Load into an empty Neo4j database (stopped) with:\n"
        "neo4j-admin database import full --nodes=nodes.csv --relationships=relationships.csv neo4j\n",
        encoding="utf-8")
    return [nodes_path, edges_path, readme]


def _oriented(H: nx.Graph, u: str, v: str, attrs: dict) -> tuple[str, str]:
    """(start, end) of a relationship: an undirected graph forgets which end a CLAIMED_AT starts from."""
    start_type = EDGE_TYPES.get(attrs.get("edge_type", ""), (None, None))[0]
    if start_type and H.nodes[u].get("node_type") != start_type and H.nodes[v].get("node_type") == start_type:
        return v, u
    return u, v


def _write_gephi_csv(H: nx.Graph, out_dir: Path) -> list[Path]:
    """Gephi's spreadsheet import: ``nodes.csv`` (Id, Label, ...) and ``edges.csv`` (Source, Target, Type, Weight, ...)."""
    fields, _ = _node_fields(H)
    nodes_path, edges_path = out_dir / "nodes.csv", out_dir / "edges.csv"
    with nodes_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "Label", "node_type", "entity_id"] + fields)
        for n, attrs in sorted(H.nodes(data=True)):
            writer.writerow([n, attrs.get("label", n), attrs.get("node_type", ""), attrs.get("entity_id", n)]
                            + [_csv_value(attrs.get(f)) for f in fields])
    efields, _ = _edge_fields(H)
    efields = [f for f in efields if f != "weight"]
    kind = "Directed" if H.is_directed() else "Undirected"
    with edges_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Source", "Target", "Type", "Weight", "edge_type"] + efields)
        for u, v, attrs in sorted(H.edges(data=True), key=lambda e: (e[0], e[1])):
            writer.writerow([u, v, kind, _csv_value(attrs.get("weight", 1)), attrs.get("edge_type", "")]
                            + [_csv_value(attrs.get(f)) for f in efields])
    return [nodes_path, edges_path]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
