"""One ring's graph, the same for the evidence bundle and the viewer.

The ring's members, the identifiers (phones, payee accounts, referrers,
submission points) that two or more of its beneficiaries share, and the claims
edges between them, built by :func:`graph.build.build_graph` on the ring's
claim lines.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

from graph.build import build_graph, node_id
from graph.intermediaries import Intermediaries

__all__ = ["ring_graph", "only_intermediaries", "SHARED_IDENTIFIERS"]

#: Identifier node types drawn in a ring's graph when at least two member beneficiaries share one.
SHARED_IDENTIFIERS = ("PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT")


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
    for record in members.to_dict("records"):
        nid = node_id(record["entity_type"], str(record["entity_id"]))
        if nid not in G:
            G.add_node(nid, node_type=record["entity_type"], entity_id=str(record["entity_id"]),
                       label=str(record["entity_id"]))
        G.nodes[nid].update(role=str(record["role"]), member_score=float(record["score"]),
                            evidence=str(record["evidence"]))
    return G


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
