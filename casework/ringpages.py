"""What a ring page shows, materialised when a run is stored, so that the viewer only reads.

For each ring of a run: its claim lines (:mod:`casework.ringlines`, each marked at
risk or tying the ring only, newest first, read a page at a time), its graph
(:func:`graph.ring.ring_graph`, the evidence bundle's, built for all rings at once by
:func:`graph.ring.ring_graphs`), its timeline, where its
patients come from and where they were billed, what changed since the previous
run of the same home, and what the run's story maker wrote (sentences, the map
drawn, the graph as the viewer draws it). Each part is stored as JSON text apart
from the others, so a view reads only the parts it shows, and can hand a part on
without decoding it. One SQLite file per run,
``HOME/ringpages/<run_id>.sqlite``, written under a temporary name and renamed
into place, before the run itself is stored: a stored run always has its pages,
and a run killed before is done again, whole, by the next one
(:func:`ensure_ring_pages` builds the pages of a run stored without them).

:func:`ring_page` is the one reader: views and other modules add to what it
returns instead of reading claims.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from casework.ringdiff import ring_diff
from casework.ringlines import WindowLines
from casework.ringmap import ProviderRows
from casework.ringpage_parts import geography, graph_to_json, jsonable, ring_changes, timeline, timeline_svg
from casework.runs import RunStore
from detectors.config import DetectionConfig
from graph.intermediaries import infer_intermediaries
from graph.ring import only_intermediaries, ring_graphs
from ground.errors import InputRefused, NotFound
from ground.files import private_dir, sync
from ground.sqlite import connect, transaction
from ingest.schema import CLAIM_COLUMNS
from ingest.store import ClaimsStore

__all__ = ["write_ring_pages", "merge_ring_pages", "build_ring_pages", "ensure_ring_pages", "ring_page", "ring_lines_page",
           "run_changes", "pages_path", "LINE_COLUMNS", "MAX_PAGE_SIZE", "FOLDER", "FORMAT", "PARTS", "StoryMaker"]

#: The folder of HOME holding one ring-pages file per run.
FOLDER = "ringpages"
#: Most lines one read returns.
MAX_PAGE_SIZE = 500
#: The claim columns a ring page keeps per line (besides ``at_risk``).
LINE_COLUMNS = [
    "claim_id", "line_no", "service_date", "beneficiary_id", "household_id", "regime", "beneficiary_region",
    "provider_id", "provider_type", "provider_region", "doctor_id", "act_code", "act_family", "quantity",
    "amount_claimed", "amount_reimbursed", "prior_auth_id", "channel", "submission_point_id", "contact_phone",
    "payee_account", "referrer_id",
]
#: The layout of the file; a file of another layout is rebuilt (:func:`ensure_ring_pages`), never misread.
FORMAT = 2
#: The parts written for every ring (besides the story's, named ``story.<key>``).
PARTS = ("timeline", "timeline_svg", "graph", "geography", "changes", "diff", "members")
#: ``story(claims, providers) -> tell(ring, members, lines, graph=G) -> dict`` (see :func:`write_ring_pages`).
StoryMaker = Callable[[pd.DataFrame, "pd.DataFrame | None"], Callable[..., dict]]
_ALERT_COLUMNS = ["ring_id", "change", "detail", "alerted"]
_NUMBERS = {"line_no": "INTEGER", "quantity": "REAL", "amount_claimed": "REAL", "amount_reimbursed": "REAL"}
_SAFE_RUN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pages (
    ring_id          TEXT PRIMARY KEY,
    n_lines          INTEGER NOT NULL,
    n_at_risk        INTEGER NOT NULL,
    amount_at_risk   REAL NOT NULL,
    amount_tie_only  REAL NOT NULL
);
CREATE TABLE parts (
    ring_id  TEXT NOT NULL,
    name     TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (ring_id, name)
) WITHOUT ROWID;
CREATE TABLE lines (
    ring_id  TEXT NOT NULL,
    idx      INTEGER NOT NULL,
    at_risk  INTEGER NOT NULL,
    {", ".join(f"{c} {_NUMBERS.get(c, 'TEXT')}" for c in LINE_COLUMNS)},
    PRIMARY KEY (ring_id, idx)
) WITHOUT ROWID;
"""


def pages_path(home: str | Path, run_id: str) -> Path:
    """``HOME/ringpages/<run_id>.sqlite``.

    Parameters
    ----------
    home : path
    run_id : str

    Raises
    ------
    NotFound
        ``run_id`` cannot be a stored run's (not a plain file name).
    """
    if not _SAFE_RUN.match(str(run_id)):
        raise NotFound(f"run {str(run_id)[:80]!r} not found")
    return Path(home) / FOLDER / f"{run_id}.sqlite"


def write_ring_pages(home: str | Path, run_id: str, *, kind: str, claims: pd.DataFrame, rings: pd.DataFrame,
                     members: pd.DataFrame, config: DetectionConfig | None = None,
                     providers: pd.DataFrame | None = None, intermediaries: Any = None,
                     alerts: pd.DataFrame | None = None, story: StoryMaker | None = None,
                     share: tuple[int, int] | None = None) -> Path:
    """Materialise every ring page of a run (call it before storing the run).

    Parameters
    ----------
    home : path
        ``SHABAKA_HOME``.
    run_id : str
    kind : {'detect', 'weekly'}
        The previous run compared with is the newest other stored run of this kind.
    claims : DataFrame
        The run's whole claims window (as detection read it).
    rings, members : DataFrame
        The run's rings and members, as they will be stored.
    config : DetectionConfig, optional
        The run's detection configuration (decides which lines are suspicious).
    providers : DataFrame, optional
        The providers table (names in the graph, coordinates on the map).
    intermediaries : Intermediaries, optional
        The intermediaries detection inferred over the window.
    alerts : DataFrame, optional
        The run's alerts (ring_id, change, detail, alerted).
    story : callable, optional
        ``story(claims, providers)`` returns ``tell(ring, members, lines, graph=G) -> dict``:
        what a higher layer writes about each ring from its lines, its graph and the window
        (sentences, the map, the graph as drawn; :func:`web.story.page_story`); each key is
        stored as its own part, ``story.<key>``. Its ``members`` (``"TYPE:id"`` ->
        ``{sentence, finding}``) also give the ``members`` part each member's sentence.
    share : (k, n), optional
        Write only the rings ``k, k + n, k + 2n...`` of ``rings`` (in their order), into a
        temporary part file that :func:`merge_ring_pages` makes the run's file with the
        other shares: how ``n`` processes write one run's pages together.

    Returns
    -------
    Path
        The file written (with ``share``, the part file).
    """
    target = pages_path(home, run_id)
    private_dir(target.parent)
    if share is None:  # a share's writer leaves the folder to the one that merges
        _remove_debris(target.parent)
    previous, before = _previous(home, run_id, kind)
    window = WindowLines(claims, members, config=config)
    tell = story(claims, providers) if story is not None else None
    alerts = pd.DataFrame(columns=_ALERT_COLUMNS) if alerts is None else alerts.reindex(columns=_ALERT_COLUMNS)
    alerts = alerts.assign(ring_id=alerts["ring_id"].astype(str))
    alert_of = {r["ring_id"]: {"change": str(r["change"]), "detail": str(r["detail"]), "alerted": bool(r["alerted"])}
                for r in alerts.to_dict("records")}
    rows = ProviderRows(providers)
    by_ring = {str(k): v for k, v in members.groupby(members["ring_id"].astype(str), sort=False)} if len(members) else {}
    tmp = target.parent / (f".{run_id}.part{share[0]}.{os.getpid()}.tmp" if share else f".{run_id}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    conn = connect(tmp)
    written = False
    try:
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to rename into place
        conn.executescript(_SCHEMA)
        with transaction(conn) as c:
            _write_meta(c, run_id, previous, _gone(rings, before))
            records = rings.to_dict("records")
            if share is not None:
                records = records[share[0]::share[1]]
            owns = [by_ring.get(str(ring["ring_id"]), members.iloc[:0]) for ring in records]
            lines = [window.ring(own) for own in owns]
            tables = [_provider_table(rows, own_lines) for own_lines in lines]
            # Every ring's graph from one table of all the rings' lines, not one build per ring.
            graphs = ring_graphs([(own, own_lines.reindex(columns=list(CLAIM_COLUMNS)), table,
                                   _own_intermediaries(intermediaries, own))
                                  for own, own_lines, table in zip(owns, lines, tables)])
            for ring, own, own_lines, table, G in zip(records, owns, lines, tables, graphs):
                rid = str(ring["ring_id"])
                _write_ring(c, ring, own, own_lines, G, table=table,
                            previous=_previous_ring(previous, before, rid), alert=alert_of.get(rid),
                            alerts=alerts[alerts["ring_id"] == rid], tell=tell)
        conn.close()
        if share is None:
            _put_in_place(tmp, target)
        written = True
    finally:
        conn.close()
        _remove_tmp(tmp, keep=share is not None and written)
    return tmp if share is not None else target


def merge_ring_pages(home: str | Path, run_id: str, parts: Iterable[str | Path], *, kind: str,
                     rings: pd.DataFrame) -> Path:
    """Make the run's ring pages file of the part files :func:`write_ring_pages` wrote with ``share``.

    Parameters
    ----------
    home : path
    run_id : str
    parts : iterable of path
        Every share's part file (removed once merged, or on failure).
    kind : {'detect', 'weekly'}
        As the shares were written with.
    rings : DataFrame
        The run's rings (their order is the pages' order).

    Returns
    -------
    Path
        The file written, the same as one :func:`write_ring_pages` call writes.
    """
    parts = [Path(p) for p in parts]
    target = pages_path(home, run_id)
    previous, before = _previous(home, run_id, kind)
    tmp = target.parent / f".{run_id}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    conn = connect(tmp)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.executescript(_SCHEMA)
        for k, part in enumerate(parts):
            conn.execute(f"ATTACH DATABASE ? AS part{k}", (str(part),))
        with transaction(conn) as c:
            _write_meta(c, run_id, previous, _gone(rings, before))
            for k, ring_id in enumerate(rings["ring_id"].astype(str)):  # the rings' order, as one writer's
                c.execute(f"INSERT INTO pages SELECT * FROM part{k % len(parts)}.pages WHERE ring_id = ?", (ring_id,))
            for k in range(len(parts)):
                c.execute(f"INSERT INTO parts SELECT * FROM part{k}.parts")
                c.execute(f"INSERT INTO lines SELECT * FROM part{k}.lines")
        for k in range(len(parts)):
            conn.execute(f"DETACH DATABASE part{k}")
        conn.close()
        _put_in_place(tmp, target)
    finally:
        conn.close()
        _remove_tmp(tmp)
        for part in parts:
            _remove_tmp(part)
    return target


def build_ring_pages(home: str | Path, run_id: str, *, story: StoryMaker | None = None) -> Path:
    """Materialise the pages of a stored run from the claims store (the run's window and batches).

    Parameters
    ----------
    home : path
    run_id : str
    story : callable, optional
        As for :func:`write_ring_pages`.

    Raises
    ------
    NotFound
        No such run.
    """
    with RunStore(home) as runs:
        run = runs.run(run_id)
        rings, members, alerts = runs.rings(run_id), runs.members(run_id), runs.alerts(run_id)
    params = run.get("params") or {}
    batch_ids = [str(b["batch_id"]) for b in run.get("batches") or [] if b.get("batch_id") is not None]
    with ClaimsStore(home) as store:
        claims = store.claims(run.get("window_from"), run.get("window_to"), batch_ids=batch_ids or None, encoded=True)
        providers = store.providers()
    intermediaries = None
    if (members["entity_type"] == "INTERMEDIARY").any() and len(claims):
        intermediaries = infer_intermediaries(claims, **(params.get("intermediaries") or {}))
    return write_ring_pages(home, run_id, kind=str(run["kind"]), claims=claims, rings=rings, members=members,
                            config=DetectionConfig.from_mapping(params.get("config")),
                            providers=providers if len(providers) else None, intermediaries=intermediaries,
                            alerts=alerts, story=story)


def ensure_ring_pages(home: str | Path, run_id: str, *, story: StoryMaker | None = None) -> bool:
    """Build a stored run's pages when its file is missing (a run stored without them) or of another
    :data:`FORMAT` (written by another version); True when built.

    Parameters
    ----------
    home : path
    run_id : str
    story : callable, optional
        As for :func:`write_ring_pages`.
    """
    path = pages_path(home, run_id)
    if path.is_file() and _format(path) == FORMAT:
        return False
    build_ring_pages(home, run_id, story=story)
    return True


def ring_page(home: str | Path, run_id: str, ring_id: str, *, parts: Iterable[str] | None = None, page: int = 1,
              size: int = 50, decode: bool = True) -> dict[str, Any]:
    """What a ring page shows, read from the run's ring pages (never from the claims): only the parts asked for.

    Parameters
    ----------
    home : path
    run_id, ring_id : str
    parts : iterable of str, optional
        Names of :data:`PARTS`, ``story`` (every part the story maker wrote) or
        ``story.<key>`` (one of them), and ``lines`` (a page of claim lines); all when None.
    page : int
        1-based page of claim lines (a page past the last gives the last).
    size : int
        Lines per page, 1 to :data:`MAX_PAGE_SIZE`.
    decode : bool
        False: each part as its stored JSON text, to be sent on as it is.

    Returns
    -------
    dict
        ``totals`` (n_lines, n_at_risk, amount_at_risk, amount_tie_only) and the parts asked
        for: ``timeline`` (per day), ``timeline_svg`` (its bar chart, SVG markup), ``graph``
        (nodes and edges with raw ids; :func:`casework.ringpage_parts.graph_from_json` makes
        it a networkx graph again), ``geography``, ``changes`` (the API's change since the
        previous run), ``diff`` (the same as :func:`casework.ringdiff.ring_diff` gives it),
        ``members`` (entity_type, entity_id, role, score, evidence, sentence, finding; best
        score first), ``story`` (``{key: part}`` of the story maker's parts read, see
        :func:`write_ring_pages`), ``lines`` (the page's lines as dicts, newest first, with
        ``at_risk``) and ``paging`` (page, pages, total, size).

    Raises
    ------
    NotFound
        No pages for the run (it was stored before pages existed, or by a version writing
        another format: the next run builds them), or no such ring in them.
    InputRefused
        ``page`` or ``size`` out of range.
    """
    wanted = None if parts is None else set(parts)
    with _open(home, run_id) as conn:
        row = conn.execute("SELECT * FROM pages WHERE ring_id = ?", (str(ring_id),)).fetchone()
        if row is None:
            raise NotFound(f"ring {str(ring_id)[:80]!r} not found in run {run_id!r}")
        out: dict[str, Any] = {"totals": {k: row[k] for k in ("n_lines", "n_at_risk", "amount_at_risk",
                                                              "amount_tie_only")}, "story": {}}
        for name, body in conn.execute("SELECT name, body FROM parts WHERE ring_id = ?", (str(ring_id),)):
            story = name.startswith("story.")
            if wanted is not None and name not in wanted and not (story and "story" in wanted):
                continue
            value = json.loads(body) if decode else body
            if story:
                out["story"][name[len("story."):]] = value
            else:
                out[name] = value
        if wanted is None or "lines" in wanted:
            out["lines"], out["paging"] = _page(conn, str(ring_id), int(row["n_lines"]), page, size)
    return out


def ring_lines_page(home: str | Path, run_id: str, ring_id: str, *, page: int = 1,
                    size: int = 50) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One page of a ring's lines (dicts of :data:`LINE_COLUMNS` and ``at_risk``, newest first) and its paging.

    Parameters
    ----------
    home : path
    run_id, ring_id : str
    page : int
        1-based (a page past the last gives the last).
    size : int
        1 to :data:`MAX_PAGE_SIZE`.
    """
    with _open(home, run_id) as conn:
        row = conn.execute("SELECT n_lines FROM pages WHERE ring_id = ?", (str(ring_id),)).fetchone()
        if row is None:
            raise NotFound(f"ring {str(ring_id)[:80]!r} not found in run {run_id!r}")
        return _page(conn, str(ring_id), int(row["n_lines"]), page, size)


def run_changes(home: str | Path, run_id: str) -> dict[str, Any]:
    """The run-wide part of the week-over-week change: previous run and the rings gone since.

    Parameters
    ----------
    home : path
    run_id : str
    """
    with _open(home, run_id) as conn:
        meta = {r["key"]: json.loads(r["value"]) for r in conn.execute("SELECT key, value FROM meta")}
    return {"previous_run": meta.get("previous_run"), "rings_gone": meta.get("rings_gone") or []}


class _open:
    """A read-only connection to a run's ring pages, closed on exit."""

    def __init__(self, home: str | Path, run_id: str):
        self.path = pages_path(home, run_id)

    def __enter__(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise NotFound(f"run {self.path.stem!r} has no ring pages (stored before they existed, or not "
                           "stored): the next 'shabaka run' builds them")
        self.conn = connect(self.path, readonly=True)
        if _format(self.conn) != FORMAT:
            self.conn.close()
            raise NotFound(f"run {self.path.stem!r} has ring pages of another format (written by another "
                           "version): the next 'shabaka run' builds them again")
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _format(where: Path | sqlite3.Connection) -> int | None:
    """The :data:`FORMAT` a ring pages file (or an open connection to one) was written in; None before formats."""
    conn = connect(where, readonly=True) if isinstance(where, Path) else where
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    finally:
        if conn is not where:
            conn.close()
    return None if row is None else json.loads(row[0])


def _page(conn: sqlite3.Connection, ring_id: str, total: int, page: int, size: int):
    if not 1 <= int(size) <= MAX_PAGE_SIZE:
        raise InputRefused(f"size {size}: expected a whole number from 1 to {MAX_PAGE_SIZE}")
    if int(page) < 1:
        raise InputRefused(f"page {page}: expected a whole number from 1")
    pages = max(1, -(-total // int(size)))
    page = min(int(page), pages)
    start = (page - 1) * int(size)
    cur = conn.execute(f"SELECT at_risk, {', '.join(LINE_COLUMNS)} FROM lines WHERE ring_id = ? AND idx >= ? "
                       "AND idx < ? ORDER BY idx", (ring_id, start, start + int(size)))
    lines = [{**dict(r), "at_risk": bool(r["at_risk"])} for r in cur.fetchall()]
    return lines, {"page": page, "pages": pages, "total": total, "size": int(size)}


def _provider_table(providers: ProviderRows, lines: pd.DataFrame) -> pd.DataFrame | None:
    """The providers table's rows of the providers and doctors of a ring's lines (the whole table when none).

    The graph and the map look up only those: their rows give the same names and places as the
    whole table, without scanning it per ring.
    """
    billing = [lines[c].dropna() for c in ("provider_id", "doctor_id") if c in lines]
    mine = providers.of(pd.concat(billing)) if len(lines) and billing else None
    return mine if mine is not None and len(mine) else providers.table


def _own_intermediaries(intermediaries: Any, members: pd.DataFrame) -> Any:
    """The run's intermediaries restricted to a ring's INTERMEDIARY members; None without any."""
    ids = set(members.loc[members["entity_type"] == "INTERMEDIARY", "entity_id"].astype(str))
    return only_intermediaries(copy.copy(intermediaries), ids) if intermediaries is not None and ids else None


def _write_ring(c: sqlite3.Connection, ring: dict[str, Any], members: pd.DataFrame, lines: pd.DataFrame,
                G: Any, *, table: pd.DataFrame | None, previous: dict[str, Any] | None,
                alert: dict[str, Any] | None, alerts: pd.DataFrame, tell: Callable[..., dict] | None) -> None:
    rid = str(ring["ring_id"])
    told = tell(ring, members, lines, graph=G) if tell is not None else {}
    risky = lines["at_risk"].to_numpy(bool) if len(lines) else []
    amount = lines["amount_claimed"].astype(float) if len(lines) else pd.Series(dtype=float)
    member_providers = set(members.loc[members["entity_type"] == "PROVIDER", "entity_id"].astype(str))
    days = timeline(lines)
    c.execute("INSERT INTO pages VALUES (?,?,?,?,?)", (
        rid, len(lines), int(sum(risky)), float(amount[risky].sum()) if len(lines) else 0.0,
        float(amount[~risky].sum()) if len(lines) else 0.0))
    parts = {
        "timeline": days, "timeline_svg": timeline_svg(days), "graph": graph_to_json(G),
        "geography": geography(lines, table, member_providers),
        "changes": ring_changes(ring, members, previous, alert),
        "diff": ring_diff(ring, members, (previous or {}).get("ring"), (previous or {}).get("members"), alerts,
                          previous_run=(previous or {}).get("run_id")),
        "members": _listed(members, told.get("members") or {}),
        **{f"story.{k}": v for k, v in told.items()},
    }
    c.executemany("INSERT INTO parts VALUES (?,?,?)",
                  [(rid, name, json.dumps(jsonable(body))) for name, body in parts.items()])
    if not len(lines):
        return
    newest = lines.sort_values(["service_date", "claim_id", "line_no"], ascending=[False, True, True], kind="mergesort")
    columns = {"at_risk": newest["at_risk"].astype(int).to_numpy()}
    for col in LINE_COLUMNS:
        values = newest[col] if col in newest else pd.Series(None, index=newest.index, dtype=object)
        if col == "service_date":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        columns[col] = values.astype(object).where(values.notna(), None).tolist()
    columns["at_risk"] = [int(v) for v in columns["at_risk"]]
    c.executemany(f"INSERT INTO lines VALUES ({', '.join('?' * (len(LINE_COLUMNS) + 3))})",
                  ((rid, i, *row) for i, row in enumerate(zip(*columns.values()))))


def _listed(members: pd.DataFrame, told: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The members part: best score first, each with the story's sentence (its evidence without one) and finding."""
    listed = members.sort_values(["score", "entity_type", "entity_id"], ascending=[False, True, True], kind="mergesort")
    out = []
    for m in listed.reindex(columns=["entity_type", "entity_id", "role", "score", "evidence"]).to_dict("records"):
        said = told.get(f"{m['entity_type']}:{m['entity_id']}") or {}
        out.append({**m, "sentence": said.get("sentence") or m["evidence"], "finding": said.get("finding") or ""})
    return out


def _previous(home: str | Path, run_id: str, kind: str) -> tuple[str | None, tuple[pd.DataFrame, pd.DataFrame] | None]:
    """The previous run of ``kind`` (see :func:`_previous_run`) and its rings and members."""
    with RunStore(home) as runs:
        previous = _previous_run(runs, run_id, kind)
        return previous, ((runs.rings(previous), runs.members(previous)) if previous else None)


def _write_meta(c: sqlite3.Connection, run_id: str, previous: str | None, gone: list[dict[str, Any]]) -> None:
    meta = {"format": FORMAT, "run_id": run_id, "previous_run": previous, "built_at": _now(), "rings_gone": gone}
    c.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(jsonable(v))) for k, v in meta.items()])


def _put_in_place(tmp: Path, target: Path) -> None:
    """Rename a whole file into place, durably."""
    sync(tmp)
    os.replace(tmp, target)
    sync(target.parent)


def _remove_tmp(tmp: Path, *, keep: bool = False) -> None:
    """Remove a temporary file (unless ``keep``) and the journals SQLite may have left beside it."""
    for leftover in ((() if keep else (tmp,)) + tuple(tmp.with_name(tmp.name + s) for s in ("-journal", "-wal", "-shm"))):
        leftover.unlink(missing_ok=True)


def _previous_run(runs: RunStore, run_id: str, kind: str) -> str | None:
    """The newest stored run of ``kind`` other than ``run_id`` (the one before it when it is stored)."""
    ids = [str(r) for r in runs.runs(kind)["run_id"]]
    if run_id in ids:
        ids = ids[ids.index(run_id) + 1:]
    return ids[0] if ids else None


def _previous_ring(previous: str | None, before: tuple[pd.DataFrame, pd.DataFrame] | None,
                   ring_id: str) -> dict[str, Any] | None:
    if previous is None or before is None:
        return None
    rings, members = before
    hit = rings[rings["ring_id"].astype(str) == ring_id]
    return {"run_id": previous, "ring": hit.iloc[0].to_dict() if len(hit) else None,
            "members": members[members["ring_id"].astype(str) == ring_id]}


def _gone(rings: pd.DataFrame, before: tuple[pd.DataFrame, pd.DataFrame] | None) -> list[dict[str, Any]]:
    if before is None:
        return []
    now = set(rings["ring_id"].astype(str))
    old = before[0]
    old = old[~old["ring_id"].astype(str).isin(now)]
    return [{"ring_id": str(r["ring_id"]), "rank": int(r["rank"]), "amount_at_risk": float(r["amount_at_risk"])}
            for r in old.to_dict("records")]


def _remove_debris(folder: Path) -> None:
    """Delete temporary files a killed writer left (its process is gone), SQLite's journals of them too."""
    for path in folder.glob(".*.tmp*"):
        pid = path.name.rsplit(".", 2)[-2]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
