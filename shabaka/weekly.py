"""The weekly detector job: take the inbox, re-detect over the trailing window,
remember the run, and alert only on material change.

Order of writes, so that a run killed at any point leaves the previous results
intact and the next run completes: claim files are loaded (each atomically) and
moved out of the inbox; the embedded graph is refreshed (one transaction) and
pushed to Neo4j when configured; the findings folder is written under a temporary
name and renamed; the run is stored in SQLite in one transaction; only then does
``runs/latest`` point at it. So a run stored in SQLite has every output it promises,
and a run killed before that is done again, whole, by the next one. What can still
be left undone is finished by the next run of the same claims ("nothing new"):
``runs/latest`` repointed, a failed Neo4j push retried, the ring pages of a run stored
without them built. The ring pages (:mod:`casework.ringpages`) are written before the
run is stored, by a second process while the graph store and the findings folder are
written when the machine has two cores (:mod:`casework.ringpages_aside`). Temporary folders of a
killed run (``runs/.<run>.<random>/``) are removed when the next run starts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from casework.cases import CaseStore
from casework.ringpages import ensure_ring_pages, write_ring_pages
from casework.ringpages_aside import PagesAside, can_write_aside
from casework.runs import RunStore
from detectors.config import load_detection_config
from detectors.io import write_findings
from detectors.pipeline import detect
from graph.build import graph_parts
from graph.sqlite_store import SqliteGraphStore
from graph.store import open_graph_store
from ground import __version__
from ground.errors import InputRefused, ShabakaError
from ground.files import PRIVATE_FILE, make_private, open_private, private_dir
from ground.settings import Settings
from ingest.store import ClaimsStore
from shabaka.changes import compare_with_history
from shabaka.apriori import prepare_apriori, store_apriori, write_watchlist
from shabaka.learning import apply_model, latest_model_version
from shabaka.lock import RunLock
from web.story import page_story

__all__ = ["run_weekly", "WeeklyResult", "parse_week", "week_window", "EXIT_OK", "EXIT_FAILED",
           "EXIT_BAD_INPUT", "EXIT_NOTHING_NEW"]

log = logging.getLogger("shabaka.run")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NOTHING_NEW = 0, 1, 2, 3
CLAIM_SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass
class FileOutcome:
    """What became of one inbox file."""

    name: str
    status: str  # loaded | already_loaded | rejected
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    reason: str = ""


@dataclass
class WeeklyResult:
    """The machine-readable summary of a weekly run."""

    run_id: str | None
    week: str
    window_from: str
    window_to: str
    status: str  # ok | nothing_new | dry_run
    exit_code: int
    files: list[FileOutcome] = field(default_factory=list)
    claim_lines: int = 0
    rings: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
    alerted: list[dict[str, Any]] = field(default_factory=list)
    findings_dir: str | None = None
    watchlist: int = 0
    neo4j: str = "not configured"
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_text(self) -> str:
        """A short human summary, with counts and ring ids only."""
        lines = [
            f"Shabaka weekly run {self.run_id or '-'} for week {self.week} "
            f"(claims {self.window_from} to {self.window_to}): {self.status}",
        ]
        loaded = sum(f.loaded for f in self.files)
        rejected = [f.name for f in self.files if f.status == "rejected"]
        lines.append(f"Inbox: {len(self.files)} file(s), {loaded:,} claim lines loaded, "
                     f"{sum(f.quarantined for f in self.files):,} quarantined, {len(rejected)} rejected.")
        lines.append(f"Window: {self.claim_lines:,} claim lines; {self.rings} ring(s) found.")
        if self.alerts:
            lines.append("Changes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.alerts.items())) + ".")
        if self.alerted:
            lines.append("Alerts (new or grown):")
            for a in self.alerted:
                lines.append(f"  #{a['rank']} {a['ring_id']} [{a['change']}] score {a['score']:.2f}, "
                             f"{a['amount_at_risk']:,.0f} MAD: {a['detail']}")
        else:
            lines.append("No alert: nothing new or grown.")
        lines.append(f"Ranking: learned model {self.model}" if self.model else "Ranking: unsupervised")
        if self.findings_dir:
            lines.append(f"Findings: {self.findings_dir} (prior-authorisation watchlist: {self.watchlist} entries)")
        lines.append(f"Neo4j: {self.neo4j}")
        return "\n".join(lines)


def parse_week(text: str) -> tuple[int, int]:
    """Read ``YYYY-Www`` into (year, week), or raise InputRefused.

    Parameters
    ----------
    text : str
    """
    try:
        year, week = text.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
    except (ValueError, AttributeError):
        raise InputRefused(f"--week {text!r}: expected an ISO week like 2025-W14") from None
    return monday.isocalendar().year, monday.isocalendar().week


def week_window(year: int, week: int, window_weeks: int) -> tuple[date, date]:
    """First and last day of the ``window_weeks`` weeks ending with ISO week ``year-Wweek``.

    Parameters
    ----------
    year, week : int
        The ISO week the window ends with.
    window_weeks : int
    """
    if window_weeks < 1:
        raise InputRefused(f"--window-weeks {window_weeks}: expected 1 or more")
    sunday = date.fromisocalendar(year, week, 7)
    return sunday - timedelta(weeks=window_weeks) + timedelta(days=1), sunday


def _inbox_files(inbox: Path) -> list[Path]:
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if p.is_file() and p.name.lower().endswith(CLAIM_SUFFIXES))


def _move(path: Path, folder: Path, note: dict[str, Any]) -> None:
    """Move an inbox file into ``folder`` with its reconciliation beside it, never overwriting."""
    private_dir(folder)
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.name}.{n}"
        n += 1
    with open_private(folder / f"{target.name}.json", encoding="utf-8") as handle:
        handle.write(json.dumps(note, indent=2, default=str))
    os.chmod(path, PRIVATE_FILE)  # claims with personal data, now kept in HOME
    os.replace(path, target)


def _take_inbox(store, inbox: Path, providers: Path | None, chunk_rows: int) -> list[FileOutcome]:
    outcomes = []
    for path in _inbox_files(inbox):
        try:
            report = store.ingest([path], providers=providers, chunk_rows=chunk_rows)
        except InputRefused as exc:
            outcomes.append(FileOutcome(path.name, "rejected", reason=str(exc)))
            _move(path, inbox / "rejected", {"file": path.name, "refused": str(exc)})
            log.warning("inbox file %s rejected", path.name)
            continue
        info = report.to_dict()
        status = "loaded" if info.get("loaded", 0) or info.get("quarantined", 0) else "already_loaded"
        outcomes.append(FileOutcome(path.name, status, int(info.get("read", 0)), int(info.get("loaded", 0)),
                                    int(info.get("quarantined", 0))))
        _move(path, inbox / "processed", info)
        log.info("inbox file %s: read %s, loaded %s, quarantined %s", path.name, info.get("read"),
                 info.get("loaded"), info.get("quarantined"))
    return outcomes


def _default_week(store) -> tuple[int, int]:
    batches = store.batches()
    if batches.empty:
        raise InputRefused("no claims loaded yet and no --week given: put claim files in the inbox")
    last = pd.to_datetime(batches["max_service_date"]).max().date()
    iso = last.isocalendar()
    return iso.year, iso.week


def _history(runs: RunStore, exclude: str) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """Each earlier ring as last seen, and the ring ids of the previous weekly run."""
    earlier = runs.runs("weekly")
    earlier = earlier[earlier["run_id"] != exclude]
    ring_frames, member_frames = [], []
    for run_id in earlier["run_id"]:  # newest first: the first sighting of a ring id wins
        ring_frames.append(runs.rings(run_id))
        member_frames.append(runs.members(run_id))
    previous = set(ring_frames[0]["ring_id"].astype(str)) if ring_frames else set()
    if not ring_frames:
        empty = pd.DataFrame(columns=["ring_id", "amount_at_risk", "entity_type", "entity_id"])
        return empty, empty, previous
    rings = pd.concat(ring_frames, ignore_index=True)
    members = pd.concat(member_frames, ignore_index=True)
    first_run = rings.drop_duplicates("ring_id")[["ring_id", "run_id"]]
    rings = rings.merge(first_run, on=["ring_id", "run_id"])
    members = members.merge(first_run, on=["ring_id", "run_id"])
    return rings, members, previous


def _write_findings_dir(result, alerts: pd.DataFrame, summary: str, summary_json: dict, target: Path,
                        watchlist: pd.DataFrame) -> None:
    private_dir(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        write_findings(result, tmp / "findings")
        for name in ("rings.csv", "members.csv", "entity_scores.csv"):
            os.replace(tmp / "findings" / name, tmp / name)
        shutil.rmtree(tmp / "findings")
        alerts.to_csv(tmp / "alerts.csv", index=False)
        write_watchlist(watchlist, tmp)
        (tmp / "summary.txt").write_text(summary + "\n", encoding="utf-8")
        (tmp / "summary.json").write_text(json.dumps(summary_json, indent=2, default=str), encoding="utf-8")
        make_private(tmp)  # written inside mkdtemp's 0700 folder, so never readable by others
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _point_latest(runs_dir: Path, run_id: str) -> None:
    tmp = runs_dir / f".latest.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_id)
    os.replace(tmp, runs_dir / "latest")


def run_weekly(
    settings: Settings,
    *,
    inbox: Path | None = None,
    week: str | None = None,
    window_weeks: int | None = None,
    providers: Path | None = None,
    dry_run: bool = False,
) -> WeeklyResult:
    """Run the weekly job once; see the module docstring for what it writes and when.

    Parameters
    ----------
    settings : Settings
    inbox : path, optional
        Folder of new claim files (default the inbox setting).
    week : str, optional
        ISO week to detect up to (default: the latest claim's).
    window_weeks : int, optional
        Default the setting.
    providers : path, optional
        A providers file to load with the inbox.
    dry_run : bool
        Detect and compare, but load, move and store nothing.

    Returns
    -------
    WeeklyResult
        Its ``exit_code`` is 0 (ok), 2 (an inbox file was refused; the rest ran)
        or 3 (nothing new since the last run of this week).

    Raises
    ------
    InputRefused
        ``inbox`` (or the inbox setting) names a folder that does not exist, or
        ``week`` is not an ISO week.
    """
    home = settings.home_path
    if (inbox or settings.inbox) and not Path(inbox or settings.inbox).is_dir():
        # A named inbox that is missing is a typo, not an empty week: say so instead of "nothing new".
        given = "--inbox" if inbox else "the inbox setting"
        raise InputRefused(f"{given} {inbox or settings.inbox}: no such folder; expected a folder of claim files")
    inbox = Path(inbox) if inbox else settings.inbox_path
    window_weeks = window_weeks or settings.window_weeks
    with RunLock(home / "run.lock"):
        _remove_debris(home / "runs")
        store = ClaimsStore(home)
        runs = RunStore(home)
        try:
            files: list[FileOutcome] = []
            if dry_run:
                files = [FileOutcome(p.name, "would_load") for p in _inbox_files(inbox)]
            else:
                files = _take_inbox(store, inbox, providers, settings.chunk_rows)
            year, wk = parse_week(week) if week else _default_week(store)
            week_label = f"{year}-W{wk:02d}"
            start, end = week_window(year, wk, window_weeks)
            batches = store.batches()
            in_window = batches[
                (pd.to_datetime(batches["min_service_date"]).dt.date <= end)
                & (pd.to_datetime(batches["max_service_date"]).dt.date >= start)
            ].sort_values("batch_id")
            batch_list = [{"batch_id": str(b.batch_id), "sha256": str(b.sha256), "rows": int(b.rows)}
                          for b in in_window.itertuples(index=False)]
            params = {"window_weeks": window_weeks, "seed": settings.seed, "max_rings": settings.max_rings,
                      "alert_growth": settings.alert_growth, "alert_min_amount": settings.alert_min_amount,
                      "louvain_engine": settings.louvain_engine}
            model = latest_model_version(settings)
            if model:
                params["model"] = model  # a newly trained model makes a new run of the same week
            config = load_detection_config(settings.detection_config)
            # Other thresholds, another run: the configuration is part of what identifies it.
            digest = hashlib.sha256(json.dumps([batch_list, params, config.as_dict(), __version__],
                                               sort_keys=True).encode())
            run_id = f"{week_label}-{digest.hexdigest()[:8]}"
            rejected = any(f.status == "rejected" for f in files)
            base = WeeklyResult(run_id, week_label, start.isoformat(), end.isoformat(), "ok",
                                EXIT_BAD_INPUT if rejected else EXIT_OK, files)
            if not dry_run and run_id in set(runs.runs("weekly")["run_id"]):
                base.status, base.exit_code = "nothing_new", (EXIT_BAD_INPUT if rejected else EXIT_NOTHING_NEW)
                base.findings_dir = str(home / "runs" / run_id)
                log.info("run %s already done for these claim batches: nothing new", run_id)
                _finish(settings, runs, run_id, base)
                return base

            claims = store.claims(start, end, encoded=True)
            base.claim_lines = len(claims)
            log.info("week %s: %d claim lines in window %s..%s from %d batch(es)", week_label, len(claims),
                     start, end, len(batch_list))
            result = detect(claims, seed=settings.seed, max_rings=settings.max_rings,
                            louvain_engine=settings.louvain_engine, config=config)
            if model:
                apply_model(settings, model, claims, result)
                base.model = model
            hist_rings, hist_members, previous = _history(runs, exclude=run_id)
            rings, members, alerts = compare_with_history(
                result.rings, result.members, hist_rings, hist_members, previous,
                case_status=_case_statuses(home), growth=settings.alert_growth,
                min_amount=settings.alert_min_amount,
            )
            result.rings, result.members = rings, members
            base.rings = len(rings)
            base.alerts = {str(k): int(v) for k, v in alerts["change"].value_counts().sort_index().items()}
            base.alerted = alerts.loc[alerts["alerted"].astype(bool)].drop(columns=["summary"]).to_dict("records")
            if dry_run:
                base.status, base.run_id = "dry_run", None
                return base

            target = home / "runs" / run_id
            base.findings_dir = str(target)
            # The ring pages before the run: a stored run always has them (the viewer only reads them).
            # They need nothing the other writes make, so a second core writes them meanwhile.
            pages = dict(kind="weekly", claims=claims, rings=rings, members=members, config=config,
                         providers=store.providers(), intermediaries=result.intermediaries,
                         alerts=alerts[["ring_id", "change", "detail", "alerted"]], story=page_story)
            aside = PagesAside(home, run_id, **pages) if can_write_aside() else None
            try:
                _write_graph(settings, claims, result.intermediaries, base)
                apriori = prepare_apriori(settings, run_id, "weekly", result, claims)
                base.watchlist = len(apriori.listed)
                _write_findings_dir(result, alerts, base.summary_text(), base.to_dict(), target, apriori.listed)
                store_apriori(home, run_id, apriori)
            except BaseException:
                if aside is not None:
                    aside.cancel()
                raise
            if aside is not None:
                aside.join()
            else:
                write_ring_pages(home, run_id, **pages)
            runs.save_run(run_id, kind="weekly", version=__version__, params={**params, **result.params},
                          batches=batch_list,
                          rings=rings, members=members, entity_scores=result.entity_scores,
                          alerts=alerts[["ring_id", "change", "detail", "alerted"]], week=week_label,
                          window=(start.isoformat(), end.isoformat()),
                          stats={"claim_lines": len(claims), "alerts": base.alerts})
            _point_latest(home / "runs", run_id)
            log.info("run %s stored: %d rings, alerts %s", run_id, len(rings), base.alerts)
            return base
        finally:
            runs.close()
            store.close()


def _remove_debris(runs_dir: Path) -> None:
    """Delete what a killed run left under ``runs/``: its temporary folder and latest link (call under the lock)."""
    if not runs_dir.is_dir():
        return
    for path in runs_dir.iterdir():
        if not path.name.startswith("."):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        log.info("removed %s left by an interrupted run", path.name)


def _finish(settings: Settings, runs: RunStore, run_id: str, result: WeeklyResult) -> None:
    """Finish what a stored run left undone: point ``runs/latest`` at it if it is the newest
    weekly run, and retry its Neo4j push if that had failed (then the exit code is the push's)."""
    runs_dir = settings.home_path / "runs"
    if ensure_ring_pages(settings.home_path, run_id, story=page_story):
        log.info("ring pages of run %s built (it was stored without them)", run_id)
    if runs.latest_run_id("weekly") != run_id or not (runs_dir / run_id).is_dir():
        return  # an older run: the embedded graph and runs/latest belong to a newer one
    latest = runs_dir / "latest"
    if not latest.is_symlink() or os.readlink(latest) != run_id:
        _point_latest(runs_dir, run_id)
        log.info("runs/latest pointed at %s, which an interrupted run had stored", run_id)
    summary_path = runs_dir / run_id / "summary.json"
    if not settings.neo4j_uri or not summary_path.is_file():
        return
    stored = json.loads(summary_path.read_text(encoding="utf-8"))
    if stored.get("neo4j") == "pushed":
        result.neo4j = "pushed"
        return
    with SqliteGraphStore(settings.home_path) as embedded:
        graph = embedded.load_graph()
    if result.exit_code == EXIT_NOTHING_NEW:
        result.exit_code = EXIT_OK  # the push is new work
    _push_neo4j(settings, graph, result)
    stored["neo4j"] = result.neo4j
    with open_private(summary_path, encoding="utf-8") as handle:
        handle.write(json.dumps(stored, indent=2, default=str))


def _case_statuses(home: Path) -> dict[str, str]:
    """Every case's status by ring id, read once per run."""
    with CaseStore(home) as cases:
        return cases.statuses()


def _write_graph(settings: Settings, claims: pd.DataFrame, intermediaries, result: WeeklyResult) -> None:
    """Refresh the embedded graph store for the viewer, then Neo4j when configured.

    ``intermediaries`` are the ones detection inferred, so the stored graph shows
    the same INTERMEDIARY nodes as the rings.
    """
    # one node or edge type at a time: the whole graph of a national window is never held
    embedded = SqliteGraphStore(settings.home_path)
    try:
        embedded.write_parts(graph_parts(claims, intermediaries=intermediaries))
        graph = embedded.load_graph() if settings.neo4j_uri else None
    finally:
        embedded.close()
    _push_neo4j(settings, graph, result)


def _push_neo4j(settings: Settings, graph, result: WeeklyResult) -> None:
    """Write ``graph`` to Neo4j when configured; a failure sets the result's exit code to 1."""
    if not settings.neo4j_uri:
        return
    try:
        neo4j = open_graph_store(settings)
        try:
            neo4j.write(graph)
        finally:
            neo4j.close()
        result.neo4j = "pushed"
    except ShabakaError as exc:
        result.neo4j = f"push failed: {exc}"
        result.exit_code = EXIT_FAILED
        log.error("Neo4j push failed; the embedded store is up to date")
