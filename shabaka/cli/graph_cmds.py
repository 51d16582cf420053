"""``shabaka graph``: build the claims graph, push it to Neo4j, show a neighbourhood."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import click

from ground.errors import ConfigError, InputRefused

__all__ = ["COMMANDS", "graph_group"]

log = logging.getLogger(__name__)


@click.group("graph")
def graph_group() -> None:
    """The claims graph: build it from the claims store, push it to Neo4j, show a neighbourhood."""


@graph_group.command("build")
@click.option("--from", "start", default=None, help="First service date (YYYY-MM-DD) of the claims used.")
@click.option("--to", "end", default=None, help="Last service date (YYYY-MM-DD) of the claims used.")
@click.option("--no-intermediaries", is_flag=True, help="Do not infer intermediaries.")
@click.pass_obj
def build_cmd(settings, start: str | None, end: str | None, no_intermediaries: bool) -> None:
    """Build the typed graph from the claims store into HOME/graph.sqlite (replacing the previous build)."""
    # Imported when this verb runs, so the command line starts without it.
    from graph.build import graph_parts
    from graph.intermediaries import infer_intermediaries
    from graph.sqlite_store import SqliteGraphStore
    from graph.store import iso_day
    from ingest.store import ClaimsStore

    began = time.perf_counter()
    with ClaimsStore(settings.home_path) as claims_store:
        claims = claims_store.claims(iso_day(start), iso_day(end))
        providers = claims_store.providers()
    if not len(claims):
        raise InputRefused(f"claims store {settings.home_path}: no claims between {start or 'the start'} "
                           f"and {end or 'the end'}; run `shabaka ingest` first")
    found = None if no_intermediaries else infer_intermediaries(claims)
    counts: dict[str, int] = {}

    def counted(parts):
        for kind, frame in parts:
            if kind == "nodes" and len(frame):
                node_type = str(frame["node_type"].iloc[0])
                counts[node_type] = counts.get(node_type, 0) + len(frame)
            yield kind, frame

    with SqliteGraphStore(settings.home_path) as store:
        n_nodes, n_edges = store.write_parts(counted(graph_parts(claims, providers=providers, intermediaries=found)))
        path = store.path
    log.info("graph built: %d claim lines, %d nodes, %d edges", len(claims), n_nodes, n_edges)
    click.echo(f"{path}: {n_nodes:,} nodes, {n_edges:,} edges from {len(claims):,} claim lines "
               f"in {time.perf_counter() - began:.1f} s")
    for node_type, n in sorted(counts.items()):
        click.echo(f"  {node_type:17} {n:>10,}")


@graph_group.command("push")
@click.pass_obj
def push_cmd(settings) -> None:
    """Write the built graph (HOME/graph.sqlite) to Neo4j (needs SHABAKA_NEO4J_URI)."""
    # Imported when this verb runs, so the command line starts without it.
    from graph.neo4j_store import Neo4jGraphStore
    from graph.sqlite_store import SqliteGraphStore

    if not settings.neo4j_uri:
        raise ConfigError("graph push: no Neo4j configured; set SHABAKA_NEO4J_URI (and SHABAKA_NEO4J_USER, "
                          "SHABAKA_NEO4J_PASSWORD) or neo4j_uri in shabaka.toml")
    with SqliteGraphStore(settings.home_path) as store:
        if not store.meta():
            raise InputRefused(f"{store.path}: no graph built yet; run `shabaka graph build` first")
        graph = store.load_graph()
    with Neo4jGraphStore.from_settings(settings) as neo:
        build_id = neo.write(graph)
    click.echo(f"{settings.neo4j_uri}: wrote {len(graph.nodes):,} nodes and {len(graph.edges):,} relationships "
               f"(build {build_id})")


@graph_group.command("show")
@click.argument("entity_id")
@click.option("--hops", default=1, show_default=True, type=click.IntRange(0, 5), help="Hops from the entity.")
@click.option("--limit", default=None, type=click.IntRange(1, None),
              help="Most edges returned, heaviest first (default: setting neighbourhood_limit).")
@click.option("--from", "start", default=None, help="Keep edges active on or after this date (YYYY-MM-DD).")
@click.option("--to", "end", default=None, help="Keep edges active on or before this date (YYYY-MM-DD).")
@click.option("--format", "fmt", default="json", show_default=True,
              type=click.Choice(["json", "graphml", "gexf", "cytoscape", "neo4j-csv", "gephi-csv"]))
@click.option("--out", "out_path", default=None, type=click.Path(),
              help="File (or folder for the CSV formats) to write; default prints file formats to stdout.")
@click.pass_obj
def show_cmd(settings, entity_id: str, hops: int, limit: int | None, start: str | None, end: str | None,
             fmt: str, out_path: str | None) -> None:
    """Show the neighbourhood of ENTITY_ID (a node id like PROVIDER:PRV-1, or a bare id)."""
    # Imported when this verb runs, so the command line starts without it.
    from graph.serialise import FORMATS, write_graph
    from graph.store import open_graph_store

    store = open_graph_store(settings)
    try:
        hood = store.neighbourhood(entity_id, hops=hops, limit=limit or settings.neighbourhood_limit,
                                   start=start, end=end)
    finally:
        store.close()
    G = hood.to_networkx()
    if out_path:
        written = write_graph(G, fmt, out_path)
        click.echo(f"{G.number_of_nodes()} nodes, {G.number_of_edges()} edges, {hood.omitted} left out; wrote "
                   + ", ".join(str(p) for p in written), err=True)
        return
    if FORMATS[fmt] == "directory":
        raise InputRefused(f"--format {fmt} writes several files: give a folder with --out")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"graph.{fmt}"
        write_graph(G, fmt, target)
        text = target.read_text(encoding="utf-8")
    if fmt == "json":
        data = json.loads(text)
        data["omitted"] = int(hood.omitted)
        text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


COMMANDS: list[click.Command] = [graph_group]
