"""A Cypher script that loads the bundle's Neo4j CSV files with ``LOAD CSV ... MERGE``.

``graph.serialise`` writes ``nodes.csv`` and ``relationships.csv`` in the
``neo4j-admin import`` header format (``node_id:ID``, ``:LABEL``, ``amount:double``...).
This script reads the same files from Neo4j Browser on a running database, with
one statement per label and relationship type so no plugin (APOC) is needed.
"""

from __future__ import annotations

import csv
import io

__all__ = ["load_script"]

_CONVERT = {"long": "toInteger", "int": "toInteger", "double": "toFloat", "float": "toFloat",
            "boolean": "toBoolean", "string": ""}


def load_script(nodes_csv: bytes, relationships_csv: bytes, *, nodes_file: str = "nodes.csv",
                relationships_file: str = "relationships.csv") -> str:
    """The Cypher text loading both files (placed in Neo4j's ``import`` folder).

    Parameters
    ----------
    nodes_csv, relationships_csv : bytes
        The files' contents; their headers and the labels and types in them
        shape the script.
    nodes_file, relationships_file : str
        Names the script loads them under (``file:///<name>``).

    Returns
    -------
    str
        Semicolon-separated statements: a uniqueness constraint, a MERGE per
        node label, a MERGE per relationship type.
    """
    node_header, node_rows = _read(nodes_csv)
    rel_header, rel_rows = _read(relationships_csv)
    id_col = next(h for h in node_header if h.endswith(":ID"))
    label_col = ":LABEL"
    label_sets = sorted({row[node_header.index(label_col)] for row in node_rows})
    node_props = [h for h in node_header if h not in (id_col, label_col)]
    out = [
        "// Shabaka ring graph: copy nodes.csv and relationships.csv into Neo4j's import folder,",
        "// then run this script in Neo4j Browser (multi-statement editor) or cypher-shell.",
        "CREATE CONSTRAINT shabaka_entity_node_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.node_id IS UNIQUE;",
    ]
    for label_set in label_sets:
        labels = ":".join(_quote(lab) for lab in label_set.split(";") if lab)
        out.append(
            f"LOAD CSV WITH HEADERS FROM 'file:///{nodes_file}' AS row\n"
            f"WITH row WHERE row.`{label_col}` = '{_literal(label_set)}'\n"
            f"MERGE (n:{labels} {{node_id: row.`{id_col}`}})\n"
            f"SET {_assignments('n', node_props)};"
        )
    start = next(h for h in rel_header if h.startswith(":START_ID"))
    end = next(h for h in rel_header if h.startswith(":END_ID"))
    type_col = ":TYPE"
    rel_props = [h for h in rel_header if h not in (start, end, type_col)]
    for rel_type in sorted({row[rel_header.index(type_col)] for row in rel_rows}):
        statement = (
            f"LOAD CSV WITH HEADERS FROM 'file:///{relationships_file}' AS row\n"
            f"WITH row WHERE row.`{type_col}` = '{_literal(rel_type)}'\n"
            f"MATCH (a:Entity {{node_id: row.`{start}`}}), (b:Entity {{node_id: row.`{end}`}})\n"
            f"MERGE (a)-[r:{_quote(rel_type)}]->(b)"
        )
        if rel_props:
            statement += f"\nSET {_assignments('r', rel_props)}"
        out.append(statement + ";")
    return "\n\n".join(out) + "\n"


def _read(data: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    return (rows[0], rows[1:]) if rows else ([], [])


def _assignments(var: str, headers: list[str]) -> str:
    parts = []
    for header in headers:
        name, _, kind = header.partition(":")
        func = _CONVERT.get(kind.lower(), "")
        value = f"row.`{header}`"
        parts.append(f"{var}.{_quote(name)} = {func}({value})" if func else f"{var}.{_quote(name)} = {value}")
    return ", ".join(parts)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")
