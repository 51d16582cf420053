"""The typed claims graph, built from a claims DataFrame with columnar group-bys.

Nodes are beneficiaries, providers, doctors, inferred intermediaries and the
identifiers beneficiaries share (phones, payee accounts, submission points,
referrers). Each edge aggregates every claim line between its two ends, so the
graph of ten million lines is a few million rows, built with numpy ``bincount``
over factorised ids rather than a Python loop per claim. networkx only holds
what someone asks for (:meth:`ClaimsGraph.to_networkx`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa

from graph.linecodes import FAMILY_COLUMNS, LineCodes, grouped_edges
from ingest.schema import ENTITY_COLUMNS

if TYPE_CHECKING:
    from graph.intermediaries import Intermediaries

__all__ = [
    "ClaimsGraph",
    "build_graph",
    "graph_parts",
    "frames_to_networkx",
    "node_id",
    "household_of",
    "identifier_mask",
    "claim_edges",
    "EDGE_TYPES",
    "CLAIM_EDGES",
    "CLAIM_EDGE_INPUTS",
    "LABELS",
    "IDENTIFIER_COLUMNS",
    "EDGE_COLUMNS",
    "NODE_COLUMNS",
    "FAMILY_COLUMNS",
]

# the ``str`` dtype pandas gives a column of Python strings
_STR_TYPES = {pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}

#: identifier node type -> (claims column, edge type from a beneficiary)
IDENTIFIER_COLUMNS: dict[str, tuple[str, str]] = {
    node_type: (ENTITY_COLUMNS[node_type], edge_type) for node_type, edge_type in (
        ("PHONE", "USED_PHONE"), ("ACCOUNT", "PAID_TO"), ("SUBMISSION_POINT", "SUBMITTED_AT"),
        ("REFERRER", "REFERRED_BY"))
}

#: edge type -> (source node type, target node type or "IDENTIFIER")
EDGE_TYPES: dict[str, tuple[str, str]] = {
    "CLAIMED_AT": ("BENEFICIARY", "PROVIDER"),
    "WORKS_AT": ("DOCTOR", "PROVIDER"),
    "TREATED": ("DOCTOR", "BENEFICIARY"),
    "USED_PHONE": ("BENEFICIARY", "PHONE"),
    "PAID_TO": ("BENEFICIARY", "ACCOUNT"),
    "SUBMITTED_AT": ("BENEFICIARY", "SUBMISSION_POINT"),
    "REFERRED_BY": ("BENEFICIARY", "REFERRER"),
    "RECRUITED": ("INTERMEDIARY", "BENEFICIARY"),
    "USES": ("INTERMEDIARY", "IDENTIFIER"),
}

#: claims edge type -> (source column, target column): the edges one claim line makes by itself,
#: in the order the edges table lists them (RECRUITED and USES come from the intermediary inference).
CLAIM_EDGES: dict[str, tuple[str, str]] = {
    "CLAIMED_AT": ("beneficiary_id", "provider_id"),
    "WORKS_AT": ("doctor_id", "provider_id"),
    "TREATED": ("doctor_id", "beneficiary_id"),
    **{edge_type: ("beneficiary_id", column) for column, edge_type in IDENTIFIER_COLUMNS.values()},
}

#: The claims columns :func:`claim_edges` reads.
CLAIM_EDGE_INPUTS: tuple[str, ...] = (
    "claim_id", "service_date", "amount_claimed", "act_family", "prior_auth_id", "channel",
    *dict.fromkeys(column for pair in CLAIM_EDGES.values() for column in pair),
)

#: node type -> readable label (Neo4j labels, export files)
LABELS: dict[str, str] = {
    "BENEFICIARY": "Beneficiary", "PROVIDER": "Provider", "DOCTOR": "Doctor", "INTERMEDIARY": "Intermediary",
    "PHONE": "Phone", "ACCOUNT": "Account", "SUBMISSION_POINT": "SubmissionPoint", "REFERRER": "Referrer",
}

NODE_COLUMNS: tuple[str, ...] = ("node_id", "node_type", "entity_id", "label", "n_lines", "amount")
EDGE_COLUMNS: tuple[str, ...] = (
    "source", "target", "edge_type", "n_claims", "n_lines", "amount", *FAMILY_COLUMNS,
    "first_date", "last_date", "n_prior_auth",
)


def node_id(node_type: str, entity_id: str) -> str:
    """The graph's node id of an entity: ``"PROVIDER:PRV-1"``.

    Parameters
    ----------
    node_type : str
        One of ``ingest.schema.ENTITY_TYPES``.
    entity_id : str
    """
    return f"{node_type}:{entity_id}"


def household_of(claims: pd.DataFrame) -> pd.Series:
    """Each line's household: ``household_id``, or the beneficiary itself when empty.

    Parameters
    ----------
    claims : DataFrame
        Claims-contract lines.
    """
    return claims["household_id"].fillna(claims["beneficiary_id"])


def identifier_mask(claims: pd.DataFrame, node_type: str) -> np.ndarray:
    """Lines whose identifier of ``node_type`` says something about the beneficiary.

    A payee account on a PROVIDER_DIRECT dossier is the provider's own account
    (third-party payment), so it links nothing between patients and is left out.

    Parameters
    ----------
    claims : DataFrame
        Claims-contract lines.
    node_type : str
        An identifier node type (a key of :data:`IDENTIFIER_COLUMNS`).
    """
    column = IDENTIFIER_COLUMNS[node_type][0]
    mask = claims[column].notna().to_numpy(dtype=bool, copy=True)
    if node_type == "ACCOUNT":
        mask = mask & ~claims["channel"].eq("PROVIDER_DIRECT").fillna(False).to_numpy(dtype=bool)
    return mask


@dataclass
class ClaimsGraph:
    """A typed, aggregated claims graph as two tables.

    Attributes
    ----------
    nodes : DataFrame
        ``node_id, node_type, entity_id, label, n_lines, amount`` then type-specific
        attributes (``provider_type``, ``region``, ``specialty``, ``regime``,
        ``household_id``, ``n_households``, ``score``, ``evidence`` ...), empty where
        they do not apply.
    edges : DataFrame
        :data:`EDGE_COLUMNS`: one row per (source, target), claims aggregated.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame

    def to_networkx(self, node_ids: list[str] | set[str] | None = None) -> nx.Graph:
        """Materialise the graph, or only ``node_ids`` and the edges between them.

        Node attributes: ``node_type``, ``entity_id``, ``label`` and the non-empty
        others; edge attributes: the aggregates, dates as ISO strings, and
        ``weight`` = number of claims (dossiers).

        Parameters
        ----------
        node_ids : list or set of str, optional
            Keep only these nodes (all when None).
        """
        nodes, edges = self.nodes, self.edges
        if node_ids is not None:
            wanted = pd.Index(list(node_ids))
            nodes = nodes[nodes["node_id"].isin(wanted)]
            edges = edges[edges["source"].isin(wanted) & edges["target"].isin(wanted)]
        return frames_to_networkx(nodes, edges)


def frames_to_networkx(nodes: pd.DataFrame, edges: pd.DataFrame) -> nx.Graph:
    """An undirected networkx graph from node and edge tables shaped like :class:`ClaimsGraph`'s.

    Parameters
    ----------
    nodes : DataFrame
        Columns :data:`NODE_COLUMNS` (and more).
    edges : DataFrame
        Columns :data:`EDGE_COLUMNS`.
    """
    G = nx.Graph()
    for record in _records(nodes):
        G.add_node(record.pop("node_id"), **record)
    for record in _records(edges):
        source, target = record.pop("source"), record.pop("target")
        record["weight"] = int(record.get("n_claims", 1))
        G.add_edge(source, target, **record)
    return G


def build_graph(
    claims: pd.DataFrame,
    *,
    providers: pd.DataFrame | None = None,
    intermediaries: Intermediaries | None = None,
) -> ClaimsGraph:
    """Build the typed claims graph.

    Parameters
    ----------
    claims : DataFrame
        Claims with the contract's columns and dtypes (``ingest.schema``).
    providers : DataFrame, optional
        The providers file; its ``name`` becomes the label of provider and doctor
        nodes, its ``region`` fills a provider's region when the claims lack it.
    intermediaries : Intermediaries, optional
        From :func:`graph.intermediaries.infer_intermediaries`; adds INTERMEDIARY
        nodes with RECRUITED edges to their beneficiaries and USES edges to their
        identifiers.

    Returns
    -------
    ClaimsGraph
        Nodes and edges sorted by id, so the same claims give the same tables
        whatever their row order.
    """
    node_frames: list[pd.DataFrame] = []
    edge_frames: list[pd.DataFrame] = []
    for kind, frame in graph_parts(claims, providers=providers, intermediaries=intermediaries):
        (node_frames if kind == "nodes" else edge_frames).append(frame)
    if not node_frames:
        return ClaimsGraph(nodes=pd.DataFrame(columns=list(NODE_COLUMNS)), edges=_assemble_edges([]))
    nodes = pd.concat(node_frames, ignore_index=True)
    nodes.insert(0, "node_id", (nodes["node_type"] + ":" + nodes["entity_id"]).to_numpy(dtype=object))
    ids = np.empty(len(nodes), dtype=object)
    ids[nodes.pop("key").to_numpy()] = nodes["node_id"].to_numpy()
    for name in ("node_id", "node_type", "entity_id", "label"):
        nodes[name] = nodes[name].astype("string")
    nodes = _tidy_dtypes(nodes).sort_values("node_id", kind="stable", ignore_index=True)
    if not edge_frames:
        return ClaimsGraph(nodes=nodes, edges=_assemble_edges([]))
    edges = edge_frames[0] if len(edge_frames) == 1 else pd.concat(edge_frames, ignore_index=True)
    edges["source"] = ids[edges["source"].to_numpy()]
    edges["target"] = ids[edges["target"].to_numpy()]
    edges["edge_type"] = edges["edge_type"].astype(_STR_TYPES[pa.string()])
    return ClaimsGraph(nodes=nodes, edges=edges)


def graph_parts(
    claims: pd.DataFrame,
    *,
    providers: pd.DataFrame | None = None,
    intermediaries: Intermediaries | None = None,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """The graph of :func:`build_graph` one node type or edge type at a time, on integer node keys.

    Yields ``("nodes", frame)`` (``key``, then :data:`NODE_COLUMNS` but ``node_id``, and
    that type's attributes) and ``("edges", frame)`` (:data:`EDGE_COLUMNS`, one edge
    type, ``source`` and ``target`` as node keys): a store writes each part and lets it
    go, so a national window's graph is never held whole, and no node id string is made.
    Keys number the nodes 0..n-1 in node id order (type, then entity id), so sorting by
    keys sorts by node ids; every edge's ends are nodes of an earlier part. The parts'
    union is :func:`build_graph`'s graph (which makes the node ids and sorts it).

    Parameters
    ----------
    claims : DataFrame
        Claims with the contract's columns and dtypes.
    providers : DataFrame, optional
        As for :func:`build_graph`.
    intermediaries : Intermediaries, optional
        As for :func:`build_graph`.
    """
    claims = claims.reset_index(drop=True)
    rows = LineCodes(claims)
    entity_types = [
        ("BENEFICIARY", "beneficiary_id", {"household_id": "household_id", "regime": "regime",
                                           "region": "beneficiary_region", "birth_year": "birth_year",
                                           "sex": "sex", "ald": "ald"}, None),
        ("PROVIDER", "provider_id", {"provider_type": "provider_type", "region": "provider_region"}, None),
        ("DOCTOR", "doctor_id", {"specialty": "doctor_specialty"}, None),
    ]
    masks = {node_type: identifier_mask(claims, node_type) for node_type in IDENTIFIER_COLUMNS}
    entity_types += [(node_type, column, {}, masks[node_type]) for node_type, (column, _) in IDENTIFIER_COLUMNS.items()]
    present = {node_type: rows.present(column, mask) for node_type, column, _, mask in entity_types}
    sizes = {node_type: len(codes) for node_type, codes in present.items()}
    inter_ids = None
    if intermediaries is not None and len(intermediaries.table):
        inter_ids = np.sort(intermediaries.table["intermediary_id"].astype(str).unique())
        sizes["INTERMEDIARY"] = len(inter_ids)
    offsets = _key_offsets(sizes)
    for node_type, column, _, _ in entity_types:
        rows.set_keys(column, present[node_type], offsets[node_type])
    for node_type, column, attrs, mask in entity_types:
        if not sizes[node_type]:
            continue
        frame = _entity_nodes(claims, rows, node_type, column, attrs, mask=mask)
        if providers is not None and len(providers) and node_type in ("PROVIDER", "DOCTOR"):
            frame = _apply_provider_file(frame, providers)
        yield "nodes", _tidy_dtypes(frame)
    mask_of = {column: masks[node_type] for node_type, (column, _) in IDENTIFIER_COLUMNS.items()}
    for edge_type, (source, target) in CLAIM_EDGES.items():
        yield "edges", _assemble_edges([rows.edges(edge_type, source, target, mask=mask_of.get(target))])
    if inter_ids is not None:
        yield "nodes", _tidy_dtypes(_intermediary_nodes(claims, rows, intermediaries, inter_ids,
                                                        offsets["INTERMEDIARY"]))
        for part in _intermediary_edges(claims, rows, intermediaries, inter_ids, offsets["INTERMEDIARY"]):
            yield "edges", _assemble_edges([part])


def claim_edges(claims: pd.DataFrame) -> pd.DataFrame:
    """The edges claim lines make by themselves (:data:`CLAIM_EDGES`), aggregated as :func:`build_graph` does.

    The same rows :func:`build_graph` would give those lines, without nodes and
    without the intermediaries' edges: what the viewer uses for an entity the graph
    store does not hold.

    Parameters
    ----------
    claims : DataFrame
        Claim lines with at least the columns :data:`CLAIM_EDGE_INPUTS`.

    Returns
    -------
    DataFrame
        :data:`EDGE_COLUMNS`, one row per (source, target, edge type).
    """
    claims = claims.reset_index(drop=True)
    masks = {node_type: identifier_mask(claims, node_type) for node_type in IDENTIFIER_COLUMNS}
    rows = LineCodes(claims)
    # every distinct id is a key here (no node table is written): keys only stand for node ids
    columns = dict(ENTITY_COLUMNS)
    present = {node_type: np.arange(len(rows.codes(column)[1])) for node_type, column in columns.items()}
    offsets = _key_offsets({node_type: len(codes) for node_type, codes in present.items()})
    ids = np.empty(sum(len(codes) for codes in present.values()), dtype=object)
    for node_type, column in columns.items():
        rows.set_keys(column, present[node_type], offsets[node_type])
        uniques = rows.codes(column)[1]
        ids[offsets[node_type]:offsets[node_type] + len(uniques)] = [f"{node_type}:{u}" for u in uniques]
    edges = _assemble_edges(_claim_edge_parts(rows, masks))
    edges["source"] = ids[edges["source"].to_numpy()]
    edges["target"] = ids[edges["target"].to_numpy()]
    return edges


def _claim_edge_parts(rows: LineCodes, masks: dict[str, np.ndarray]) -> list[dict[str, object]]:
    """Each claims edge type's aggregated columns; identifier edges only on the lines of ``masks``."""
    mask_of = {column: masks[node_type] for node_type, (column, _) in IDENTIFIER_COLUMNS.items()}
    return [rows.edges(edge_type, source, target, mask=mask_of.get(target))
            for edge_type, (source, target) in CLAIM_EDGES.items()]


def _key_offsets(sizes: dict[str, int]) -> dict[str, int]:
    """First key of each node type: types in name order, so that key order is node id order."""
    offsets, start = {}, 0
    for node_type in sorted(sizes):
        offsets[node_type] = start
        start += sizes[node_type]
    return offsets


def _assemble_edges(parts: list[dict[str, object]]) -> pd.DataFrame:
    """One edges table from each edge type's columns, concatenated column by column.

    Each part's arrays are released as soon as their column is built, so the peak is
    one table plus one column rather than two tables; ``source``/``target`` stay
    object arrays pointing at the shared node-id strings.
    """
    lengths = [len(p["source"]) for p in parts]
    columns: dict[str, pd.Series] = {}
    names = list(EDGE_COLUMNS)
    for name in names:
        if name == "edge_type":
            codes = np.repeat(np.arange(len(parts), dtype=np.int32), lengths)
            kinds = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array([p["edge_type"] for p in parts]))
            columns[name] = pd.Series(kinds.cast(pa.string()).to_pandas(types_mapper=_STR_TYPES.get))
            continue
        values = np.concatenate([p.pop(name) for p in parts]) if parts else np.zeros(0)
        columns[name] = pd.Series(values, dtype=values.dtype, copy=False)
    return pd.DataFrame(columns, copy=False)


def _entity_nodes(claims: pd.DataFrame, rows: LineCodes, node_type: str, column: str,
                  attrs: dict[str, str], *, mask: np.ndarray | None = None) -> pd.DataFrame:
    codes, uniques = rows.codes(column)
    keep = codes >= 0
    if mask is not None:
        keep &= mask
    kept = codes[keep]
    # codes are already dense and sorted: renumber the present ones with a count, no hash table
    counts = np.bincount(kept, minlength=len(uniques))
    present = np.flatnonzero(counts)
    group = (np.cumsum(counts > 0) - 1)[kept]
    frame = pd.DataFrame({
        "key": rows.keys(column)[present],
        "node_type": node_type,
        "entity_id": uniques[present],
        "label": uniques[present],
        "n_lines": np.bincount(group, minlength=len(present)).astype(np.int64),
        "amount": np.round(np.bincount(group, weights=rows.amount[keep], minlength=len(present)), 2),
    })
    if attrs:
        firsts = claims.loc[keep, list(attrs.values())].groupby(group, sort=True).first()
        for name, source in attrs.items():
            frame[name] = firsts[source].to_numpy()
    return frame


def _intermediary_nodes(claims: pd.DataFrame, rows: LineCodes, found: Intermediaries, inter_ids: np.ndarray,
                        offset: int) -> pd.DataFrame:
    table = found.table.sort_values("intermediary_id", ignore_index=True)
    bene_codes, bene_uniques = rows.codes("beneficiary_id")
    members = found.members.merge(
        pd.DataFrame({"beneficiary_id": bene_uniques, "code": np.arange(len(bene_uniques))}),
        on="beneficiary_id")
    line_member = pd.DataFrame({"code": bene_codes, "amount": rows.amount})
    per_member = line_member.groupby("code").agg(n_lines=("amount", "size"), amount=("amount", "sum"))
    totals = members.join(per_member, on="code").groupby("intermediary_id")[["n_lines", "amount"]].sum()
    ids = table["intermediary_id"].astype(str)
    frame = pd.DataFrame({
        "key": offset + np.searchsorted(inter_ids, ids.to_numpy(dtype=object)),
        "node_type": "INTERMEDIARY",
        "entity_id": ids.to_numpy(dtype=object),
        "label": ids.to_numpy(dtype=object),
    })
    frame["n_lines"] = table["intermediary_id"].map(totals["n_lines"]).fillna(0).astype(np.int64).to_numpy()
    frame["amount"] = np.round(table["intermediary_id"].map(totals["amount"]).fillna(0.0).to_numpy(), 2)
    for name in ("n_households", "n_beneficiaries", "n_identifiers", "score", "evidence"):
        frame[name] = table[name].to_numpy()
    return frame


def _intermediary_edges(claims: pd.DataFrame, rows: LineCodes, found: Intermediaries, inter_ids: np.ndarray,
                        offset: int) -> list[dict[str, object]]:
    bene_codes, bene_uniques = rows.codes("beneficiary_id")
    bene_index = pd.Index(bene_uniques)
    members = found.members.assign(
        inter=np.searchsorted(inter_ids, found.members["intermediary_id"].astype(str)),
        bene=bene_index.get_indexer(found.members["beneficiary_id"].astype(str)),
    )
    members = members[members["bene"] >= 0]
    # each line may belong to several intermediaries' members: expand lines x memberships
    line_frame = pd.DataFrame({"bene": bene_codes, "line": np.arange(len(bene_codes))})
    expanded = line_frame.merge(members[["bene", "inter"]], on="bene")
    inter_keys = offset + np.arange(len(inter_ids), dtype=np.int64)
    frames: list[dict[str, object]] = [grouped_edges("RECRUITED", expanded["inter"].to_numpy(), expanded["bene"].to_numpy(),
                             expanded["line"].to_numpy(), inter_keys, rows.keys("beneficiary_id"), rows)]
    for node_type, (column, _) in IDENTIFIER_COLUMNS.items():
        links = found.links[found.links["identifier_type"] == node_type]
        if not len(links):
            continue
        codes, uniques = rows.codes(column)
        mask = identifier_mask(claims, node_type)
        ident = pd.Index(uniques).get_indexer(links["identifier"].astype(str))
        pairs = pd.DataFrame({"inter": np.searchsorted(inter_ids, links["intermediary_id"].astype(str)),
                              "ident": ident})
        pairs = pairs[pairs["ident"] >= 0]
        lines = expanded[mask[expanded["line"].to_numpy()]]
        lines = lines.assign(ident=codes[lines["line"].to_numpy()]).merge(pairs, on=["inter", "ident"])
        frames.append(grouped_edges("USES", lines["inter"].to_numpy(), lines["ident"].to_numpy(),
                                     lines["line"].to_numpy(), inter_keys, rows.keys(column), rows))
    return frames


def _apply_provider_file(nodes: pd.DataFrame, providers: pd.DataFrame) -> pd.DataFrame:
    by_id = providers.drop_duplicates("provider_id").set_index("provider_id")
    is_person = nodes["node_type"].isin(["PROVIDER", "DOCTOR"])
    ids = nodes.loc[is_person, "entity_id"]
    if "name" in by_id:
        names = ids.map(by_id["name"])
        nodes.loc[is_person, "label"] = names.where(names.notna(), ids).astype("string")
    if "region" in by_id and "region" in nodes:
        is_provider = nodes["node_type"].eq("PROVIDER")
        regions = nodes.loc[is_provider, "entity_id"].map(by_id["region"])
        nodes.loc[is_provider, "region"] = nodes.loc[is_provider, "region"].fillna(regions)
    return nodes


def _tidy_dtypes(nodes: pd.DataFrame) -> pd.DataFrame:
    """Nullable dtypes for the attribute columns that the concatenation of node types widened."""
    for name, dtype in {"birth_year": "Int64", "n_households": "Int64", "n_beneficiaries": "Int64",
                        "n_identifiers": "Int64", "ald": "boolean"}.items():
        if name in nodes:
            nodes[name] = nodes[name].astype(dtype)
    for name in ("household_id", "regime", "region", "sex", "provider_type", "specialty", "evidence"):
        if name in nodes:
            nodes[name] = nodes[name].astype("string")
    return nodes


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts without empty values; dates as ISO strings, numpy scalars as Python ones."""
    out = []
    columns = list(frame.columns)
    converted = {}
    for column in columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            converted[column] = series.dt.strftime("%Y-%m-%d").astype(object).where(series.notna(), None).tolist()
        else:
            converted[column] = series.astype(object).where(series.notna(), None).tolist()
    for values in zip(*(converted[c] for c in columns)):
        out.append({c: v for c, v in zip(columns, values) if v is not None})
    return out
