"""Scoring incoming dossiers against the latest run, for the command line and the API alike.

Dossiers go through the claims contract's own validation (:mod:`ingest.validate` for a
file; for one dossier through the API, the same rules row by row, :mod:`ingest.validate_rows`):
a line that breaks a rule is reported with its line, rule and reason and left out, the
other lines of its dossier are scored; lines read = lines scored + lines refused. The
latest run's index is read once per run and process (:func:`latest_index`); case
statuses are read per call, so a case dismissed a minute ago no longer counts.
Nothing personal is logged or returned: identifiers are looked up by keyed hash.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from casework.apriori import AprioriStore
from casework.cases import CaseStore
from casework.runs import RunStore
from detectors.dossier_risk import SCORE_COLUMNS, DossierScorer, RiskIndex, identifier_hasher
from detectors.watchlist import CLOSED_STATUSES, WATCHLIST_COLUMNS, listed_entries
from ground.errors import ConfigError, NotFound
from ground.sqlite import DB_NAME, connect

__all__ = ["ScoreReport", "latest_index", "score_file", "score_records", "current_watchlist", "closed_rings",
           "OUTPUT_COLUMNS", "REJECTED_COLUMNS", "LEVEL_NAMES"]

log = logging.getLogger(__name__)

#: Columns of the scores file: :data:`detectors.dossier_risk.SCORE_COLUMNS` and the lines refused.
OUTPUT_COLUMNS = [*SCORE_COLUMNS, "rejected_lines"]
#: Columns of the refused-lines report (no value of the line: they may be personal).
REJECTED_COLUMNS = ["line", "claim_id", "rule", "reason", "message"]
LEVEL_NAMES = ("high", "medium", "low", "none")
_NEEDED = ("claim_id", "line_no", "provider_id", "provider_type", "act_family", "act_code", "doctor_id",
           "prior_auth_id", "quantity", "amount_claimed", "regime", "beneficiary_region", "provider_region",
           "channel", "beneficiary_id", "household_id", "contact_phone", "payee_account", "referrer_id",
           "submission_point_id")
_CACHE: dict[tuple[str, str], RiskIndex] = {}
_CACHE_LOCK = threading.Lock()


@dataclass
class ScoreReport:
    """What one scoring call did: ``read == scored + rejected`` (lines), dossiers by level."""

    run_id: str
    read: int = 0
    scored: int = 0
    rejected: int = 0
    dossiers: int = 0
    by_level: dict[str, int] = field(default_factory=lambda: {k: 0 for k in LEVEL_NAMES})
    by_rule: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def latest_index(home: Path, key: bytes, key_id: str, *, conn: sqlite3.Connection | None = None) -> RiskIndex:
    """The risk index of the latest run, read from SQLite once per run and kept in memory.

    Parameters
    ----------
    home : Path
        ``SHABAKA_HOME``.
    key, key_id : bytes, str
        The fund's pseudonym key and :func:`detectors.dossier_risk.key_fingerprint` of it.
    conn : sqlite3.Connection, optional
        An open connection to ``HOME/shabaka.sqlite`` (the viewer's per-request one).

    Raises
    ------
    NotFound
        No run yet, or the latest run left no index.
    ConfigError
        The index was hashed with another key than ``key_id`` names.
    """
    own = conn is None
    conn = connect(Path(home) / DB_NAME) if own else conn
    try:
        run_id = _latest_run_id(conn)
        cache_key = (str(Path(home).resolve()), run_id)
        with _CACHE_LOCK:
            index = _CACHE.get(cache_key)
            if index is None:
                stored_key, rows = AprioriStore(home, conn=conn).index_rows(run_id)
                if stored_key != key_id:
                    raise ConfigError(f"run {run_id}'s risk index was hashed with another pseudonym key; "
                                      "restore the key or run detection again")
                index = RiskIndex.from_rows(run_id, rows)
                for old in [k for k in _CACHE if k[0] == cache_key[0]]:
                    del _CACHE[old]
                _CACHE[cache_key] = index
    finally:
        if own:
            conn.close()
    return index


def closed_rings(home: Path, *, conn: sqlite3.Connection | None = None) -> frozenset[str]:
    """Rings whose case is now dismissed (none when no case was ever opened)."""
    own = conn is None
    conn = connect(Path(home) / DB_NAME) if own else conn
    try:
        marks = ",".join("?" * len(CLOSED_STATUSES))
        rows = conn.execute(f"SELECT ring_id FROM cases WHERE status IN ({marks})", CLOSED_STATUSES).fetchall()
    except sqlite3.OperationalError:  # no cases table yet: the schema is the case store's to create
        rows = []
    finally:
        if own:
            conn.close()
    return frozenset(str(r[0]) for r in rows)


def _latest_run_id(conn: sqlite3.Connection) -> str:
    """The id of the latest finished run (the order of ``RunStore.runs``), read without creating tables:
    scoring a dossier must cost a few lookups."""
    try:
        row = conn.execute("SELECT run_id FROM runs WHERE status = 'ok' ORDER BY finished_at DESC, run_id DESC"
                           " LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # no runs table: nothing was ever stored
        row = None
    if row is None:
        raise NotFound("no detection run yet: run 'shabaka run' or 'shabaka detect' first")
    return str(row[0])


def current_watchlist(home: Path) -> tuple[str, pd.DataFrame]:
    """(run id, watchlist) of the latest run, with today's case statuses applied.

    An entry whose ring's case was dismissed since the run leaves (or falls back to its
    next ring not dismissed); the others keep the ``since`` the run gave them.
    """
    with RunStore(home) as runs:
        run_id = runs.latest_run_id()
    if run_id is None:
        raise NotFound("no detection run yet: run 'shabaka run' or 'shabaka detect' first")
    with AprioriStore(home) as store:
        if not store.has_run(run_id):
            raise NotFound(f"run {run_id!r} has no watchlist: it was stored before watchlists existed; run again")
        candidates, listed = store.candidates(run_id), store.listed(run_id)
    with CaseStore(home) as cases:
        statuses = cases.statuses()
    today = datetime.now(timezone.utc).date().isoformat()
    current = listed_entries(candidates.drop(columns=["since", "since_run"]), statuses, previous=listed,
                             run_id=run_id, listed_on=today)
    return run_id, current.reindex(columns=WATCHLIST_COLUMNS)


def score_records(index: RiskIndex, key: bytes, records: list[Mapping[str, Any]], *,
                  closed: frozenset[str] = frozenset()) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                 ScoreReport]:
    """Validate and score a few lines given as mappings (one dossier through the API).

    The rows go through :func:`ingest.validate_rows.validate_records`, the contract's
    rules in plain Python (the column validator's fixed cost is too high for one dossier).

    Returns
    -------
    (results, refused, report)
        One result per dossier (:data:`OUTPUT_COLUMNS`), the refused lines
        (:data:`REJECTED_COLUMNS`, ``line`` counting from 1 in ``records``) and the counts.
    """
    from ingest.validate_rows import validate_records

    valid, valid_pos, issues = validate_records(records)
    scorer = index.scorer(identifier_hasher(key), closed_rings=closed)
    report = ScoreReport(index.run_id, read=len(records))
    refused = [{"line": pos + 1, "claim_id": _claim_of(records[pos]), "rule": rule, "reason": reason,
                "message": message} for pos, rule, reason, message in issues]
    refused += _add_valid(scorer, {c: valid[c] for c in _NEEDED}, [p + 1 for p in valid_pos], set(), report)
    return _finish(scorer, refused, report)


def score_file(home: Path, key: bytes, key_id: str, path: Path, out: Path, *, chunk_rows: int,
               rejected_out: Path | None = None) -> ScoreReport:
    """Score every dossier of a claims-contract file into ``out`` (CSV, written atomically).

    Raises
    ------
    InputRefused
        The file cannot be read as the contract (nothing written).
    """
    from ingest.read import open_source
    from ingest.validate import table_of_strings

    index = latest_index(home, key, key_id)
    source = open_source(path)
    scorer = index.scorer(identifier_hasher(key), closed_rings=closed_rings(home))
    report = ScoreReport(index.run_id)
    seen: set[tuple[str, int]] = set()
    rejected: list[dict[str, Any]] = []
    for chunk in source.raw_chunks(chunk_rows):
        table = chunk.frame if isinstance(chunk.frame, pa.Table) else table_of_strings(chunk.frame)
        rejected.extend(_score_table(scorer, table, chunk.lines.tolist(), chunk.bad_rows, seen, report))
    results, rejected, report = _finish(scorer, rejected, report)
    _write_csv(pd.DataFrame(results, columns=OUTPUT_COLUMNS), Path(out))
    if rejected_out is not None:
        _write_csv(pd.DataFrame(rejected, columns=REJECTED_COLUMNS), Path(rejected_out))
    log.info("scored %d dossiers (%d lines, %d refused) against run %s: %s", report.dossiers, report.scored,
             report.rejected, report.run_id, report.by_level)
    return report


def _score_table(scorer: DossierScorer, table: pa.Table, lines: list[int],
                 bad_rows: Iterable[tuple[int | None, str, str]], seen: set[tuple[str, int]],
                 report: ScoreReport) -> list[dict[str, Any]]:
    """Validate one chunk, feed its valid lines to ``scorer``; return its refused lines."""
    from ingest.validate import validate_table

    rejected = [{"line": line, "claim_id": None, "rule": "row shape", "reason": "BAD_ROW", "message": message}
                for line, _, message in bad_rows]
    report.read += table.num_rows + len(rejected)
    checked = validate_table(table)
    raw_claims = (table.column("claim_id").to_pylist() if "claim_id" in table.column_names
                  else [None] * table.num_rows)
    for pos, rule, reason, message in zip(checked.issues["pos"].tolist(), checked.issues["rule"].tolist(),
                                          checked.issues["reason"].tolist(), checked.issues["message"].tolist()):
        rejected.append({"line": lines[pos], "claim_id": (raw_claims[pos] or "").strip() or None, "rule": rule,
                         "reason": reason, "message": message})
    columns = {c: checked.valid.column(c).to_pylist() for c in _NEEDED}
    rejected += _add_valid(scorer, columns, [lines[p] for p in checked.valid_pos.tolist()], seen, report)
    return rejected


def _add_valid(scorer: DossierScorer, columns: dict[str, list[Any]], lines: list[int], seen: set[tuple[str, int]],
               report: ScoreReport) -> list[dict[str, Any]]:
    """Feed valid lines to ``scorer``, refusing a (claim_id, line_no) seen before; return those refused."""
    rejected, keep = [], []
    for i, key in enumerate(zip(columns["claim_id"], columns["line_no"])):
        if key in seen:
            rejected.append({"line": lines[i], "claim_id": key[0], "rule": "(claim_id, line_no) unique",
                             "reason": "DUPLICATE_KEY",
                             "message": "(claim_id, line_no) already seen earlier in this input"})
        else:
            seen.add(key)
            keep.append(i)
    if len(keep) < len(columns["claim_id"]):
        columns = {c: [v[i] for i in keep] for c, v in columns.items()}
    scorer.add(columns)
    report.scored += len(keep)
    return rejected


def _finish(scorer: DossierScorer, rejected: list[dict[str, Any]],
            report: ScoreReport) -> tuple[list[dict[str, Any]], list[dict[str, Any]], ScoreReport]:
    report.rejected = len(rejected)
    report.by_rule = dict(sorted(Counter(r["reason"] for r in rejected).items()))
    per_claim = Counter(r["claim_id"] for r in rejected if r["claim_id"] is not None)
    results = scorer.results()
    for row in results:
        row["rejected_lines"] = int(per_claim.pop(row["claim_id"], 0))
    for claim, count in per_claim.items():  # every line of these dossiers was refused
        results.append({"claim_id": claim, "level": "none", "score": 0.0, "lines": 0, "rejected_lines": int(count),
                        "reasons": f"not scored: its {count} line(s) were refused by validation"})
    report.dossiers = len(results)
    for row in results:
        report.by_level[row["level"]] += 1
    return results, rejected, report


def _claim_of(record: Mapping[str, Any]) -> str | None:
    value = record.get("claim_id")
    return None if value is None else str(value).strip() or None


def _write_csv(frame: pd.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
