"""One ring's graph, the same for the evidence bundle and the viewer.

The ring's members, the identifiers (phones, payee accounts, referrers,
submission points) that two or more of its beneficiaries share, and the claims
edges between them, built by :func:`graph.build.build_graph` on the ring's
claim lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import pandas as pd

from graph.build import _records, build_graph, node_id
from graph.intermediaries import Intermediaries
from ingest.schema import ENTITY_COLUMNS

__all__ = ["ring_graph", "ring_graphs", "only_intermediaries", "SHARED_IDENTIFIERS"]

#: Identifier node types drawn in a ring's graph when at least two member beneficiaries share one.
SHARED_IDENTIFIERS = ("PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT")
#: The claims columns holding an entity's id (what :func:`ring_graphs` prefixes per ring).
_LINE_IDS = tuple(ENTITY_COLUMNS.values())
#: Ends a ring's number in front of its ids: a control character, in no id.
_SEP = "\x1f"


def ring_graph(members: pd.DataFrame, lines: pd.DataFrame, *, providers: pd.DataFrame | None = None,
               intermediaries: Intermediaries | None = None) -> nx.Graph:
    """The ring's graph: its members, identifiers shared by its beneficiaries, and the claims edges between them.

    Parameters
    ----------
    members : DataFrame
        The ring's members.csv rows (entity_type, entity_id, role, score, evidence).
    lines : DataFrame
        The claim lines behind the ring (claims-contract columns).
    providers : DataFrame, optional
        The providers table (names become labels).
    intermediaries : Intermediaries, optional
        The ring's inferred intermediaries (see :func:`only_intermediaries`); adds
        their RECRUITED and USES edges.

    Returns
    -------
    networkx.Graph
        Nodes as :meth:`graph.build.ClaimsGraph.to_networkx` gives them, members with
        ``role``, ``member_score`` and ``evidence`` too (a member without claim lines
        is a node with its type, id and label only).
    """
    wanted = {node_id(t, i) for t, i in zip(members["entity_type"], members["entity_id"].astype(str))}
    G = nx.Graph()
    if len(lines):
        built = build_graph(lines, providers=providers, intermediaries=intermediaries)
        benes = set(members.loc[members["entity_type"] == "BENEFICIARY", "entity_id"].astype(str))
        # The edges from member beneficiaries are picked once, then split by identifier type.
        edges = built.edges[built.edges["source"].astype(str).str.removeprefix("BENEFICIARY:").isin(benes)]
        targets = edges["target"].astype(str)
        for node_type in SHARED_IDENTIFIERS:
            sharing = edges[targets.str.startswith(node_type + ":")]
            counts = sharing.groupby("target")["source"].nunique()
            wanted |= set(counts[counts >= 2].index)
        G = built.to_networkx(sorted(wanted))
    _add_members(G, members)
    return G


def ring_graphs(rings: Sequence[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, Intermediaries | None]]
                ) -> list[nx.Graph]:
    """Many rings' graphs, each what :func:`ring_graph` gives it, built from one table of all their lines.

    Each ring's lines (and its providers' rows and intermediaries) are stacked with every
    identifier prefixed by the ring's number, so one :func:`graph.build.build_graph` groups
    every ring's nodes and edges at once and no two rings share a node; the prefixes come
    off when each ring's graph is made. Within a ring the prefix is the same on every id,
    so nodes and edges keep the order they have in the ring's own graph.

    Parameters
    ----------
    rings : sequence of (members, lines, providers, intermediaries)
        Per ring, the arguments of :func:`ring_graph`.

    Returns
    -------
    list of networkx.Graph
        In the order of ``rings``.
    """
    lines, tables, found = [], [], []
    benes: set[str] = set()
    for k, (members, own, providers, intermediaries) in enumerate(rings):
        if not len(own):
            continue
        tag = _tag(k)
        lines.append(_prefixed(own, _LINE_IDS, tag))
        if providers is not None and len(providers):
            tables.append(_prefixed(providers, ("provider_id",), tag))
        if intermediaries is not None:
            found.append((tag, intermediaries))
        benes |= {node_id("BENEFICIARY", tag + str(b))
                  for b in members.loc[members["entity_type"] == "BENEFICIARY", "entity_id"]}
    graphs: list[nx.Graph] = [nx.Graph() for _ in rings]
    if lines:
        built = build_graph(pd.concat(lines, ignore_index=True),
                            providers=pd.concat(tables, ignore_index=True) if tables else None,
                            intermediaries=_stacked(found))
        edges = built.edges[built.edges["source"].astype(str).isin(benes)]
        targets = edges["target"].astype(str)
        wanted = {node_id(t, tag + str(i)) for k, (members, own, _, _) in enumerate(rings) if len(own)
                  for tag in (_tag(k),) for t, i in zip(members["entity_type"], members["entity_id"])}
        for node_type in SHARED_IDENTIFIERS:
            sharing = edges[targets.str.startswith(node_type + ":")]
            counts = sharing.groupby("target")["source"].nunique()
            wanted |= set(counts[counts >= 2].index)
        nodes = built.nodes[built.nodes["node_id"].isin(pd.Index(list(wanted)))]
        kept = built.edges[built.edges["source"].isin(pd.Index(list(wanted)))
                           & built.edges["target"].isin(pd.Index(list(wanted)))]
        for record in _records(nodes):
            node = record.pop("node_id")
            k, entity_id = _untag(record["entity_id"])
            if record.get("label") == record["entity_id"]:
                record["label"] = entity_id
            record["entity_id"] = entity_id
            graphs[k].add_node(_untag(node)[1], **record)
        for record in _records(kept):
            source, target = record.pop("source"), record.pop("target")
            record["weight"] = int(record.get("n_claims", 1))
            k, source = _untag(source)
            graphs[k].add_edge(source, _untag(target)[1], **record)
    for G, (members, _, _, _) in zip(graphs, rings):
        _add_members(G, members)
    return graphs


def only_intermediaries(found: Intermediaries, intermediary_ids: set[str]) -> Intermediaries:
    """``found`` restricted, in place, to the intermediaries of ``intermediary_ids``.

    Parameters
    ----------
    found : Intermediaries
        From :func:`graph.intermediaries.infer_intermediaries` (over the run's window:
        the ids depend on it).
    intermediary_ids : set of str
        The ring's INTERMEDIARY members.

    Returns
    -------
    Intermediaries
        ``found``, its table, members and links keeping those intermediaries only.
    """
    found.table = found.table[found.table["intermediary_id"].isin(intermediary_ids)]
    kept = found.table["intermediary_id"]
    found.members = found.members[found.members["intermediary_id"].isin(kept)]
    found.links = found.links[found.links["intermediary_id"].isin(kept)]
    return found


def _add_members(G: nx.Graph, members: pd.DataFrame) -> None:
    """Every member a node (a member without lines with its type, id and label only), with its role and score."""
    for record in members.to_dict("records"):
        nid = node_id(record["entity_type"], str(record["entity_id"]))
        if nid not in G:
            G.add_node(nid, node_type=record["entity_type"], entity_id=str(record["entity_id"]),
                       label=str(record["entity_id"]))
        G.nodes[nid].update(role=str(record["role"]), member_score=float(record["score"]),
                            evidence=str(record["evidence"]))


def _tag(k: int) -> str:
    return f"{k}{_SEP}"


def _untag(value: str) -> tuple[int, str]:
    """(ring number, value without its tag) of an entity id or a node id (``TYPE:<k><SEP>id``)."""
    kind, sep, rest = value.partition(":")
    if sep and _SEP in rest and _SEP not in kind:
        k, _, ident = rest.partition(_SEP)
        return int(k), f"{kind}:{ident}"
    k, _, ident = value.partition(_SEP)
    return int(k), ident


def _prefixed(frame: pd.DataFrame, columns: Sequence[str], tag: str) -> pd.DataFrame:
    """``frame`` with ``tag`` in front of every value of ``columns`` (missing values stay missing)."""
    out = frame.copy()
    for column in columns:
        if column in out.columns and out[column].notna().any():
            out[column] = tag + out[column]
    return out


def _stacked(found: list[tuple[str, Intermediaries]]) -> Intermediaries | None:
    """One set of intermediaries of many rings, each ring's ids tagged as its lines' are."""
    if not found:
        return None
    tables, links, members = [], [], []
    for tag, one in found:
        tables.append(_prefixed(one.table, ("intermediary_id",), tag))
        links.append(_prefixed(one.links, ("intermediary_id", "identifier"), tag))
        members.append(_prefixed(one.members, ("intermediary_id", "beneficiary_id"), tag))
    return Intermediaries(table=pd.concat(tables, ignore_index=True), links=pd.concat(links, ignore_index=True),
                          members=pd.concat(members, ignore_index=True), params=found[0][1].params)
