"""Outcomes of inspections: what the fund decided about a provider, doctor, intermediary or ring.

Two sources, one list:

- imported files (``shabaka outcomes import FILE``): CSV with the columns
  entity_type, entity_id, outcome, decided_on, source, validated row by row with
  reason codes; refused rows are quarantined with their raw values, so rows read =
  rows loaded + rows quarantined. A file already imported (same SHA-256) is skipped;
  a row whose (entity_type, entity_id, decided_on, source) is already stored is
  quarantined as DUPLICATE_KEY, so importing twice never counts an outcome twice.
- the viewer's case dispositions: a case whose status is confirmed, dismissed or
  referred is an outcome of its ring (entity_type RING), read live from the cases.

Outcomes train the supervised ranker only; the unsupervised detectors never read them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from casework.store import HomeStore
from ground.errors import InputRefused
from ground.sqlite import transaction

__all__ = ["OutcomeStore", "ImportReport", "OUTCOME_COLUMNS", "OUTCOMES", "ENTITY_TYPES", "REASONS",
           "POSITIVE_OUTCOMES"]

#: The columns of an outcomes file, in order.
OUTCOME_COLUMNS: tuple[str, ...] = ("entity_type", "entity_id", "outcome", "decided_on", "source")
#: What an inspection can conclude.
OUTCOMES: tuple[str, ...] = ("confirmed", "dismissed", "referred")
#: Outcomes that count as fraud found (referred to prosecution implies confirmed).
POSITIVE_OUTCOMES: tuple[str, ...] = ("confirmed", "referred")
#: What an outcome may be about; RING is a ring id of a run (as cases are).
ENTITY_TYPES: tuple[str, ...] = ("PROVIDER", "DOCTOR", "INTERMEDIARY", "RING")

#: Reason code -> what it means. Codes are stable: scripts may filter on them.
REASONS: dict[str, str] = {
    "BAD_ROW": "the row does not have as many fields as the header",
    "MISSING_REQUIRED": "a required value is empty",
    "UNKNOWN_ENTITY_TYPE": "entity_type is not PROVIDER, DOCTOR, INTERMEDIARY or RING",
    "UNKNOWN_OUTCOME": "outcome is not confirmed, dismissed or referred",
    "BAD_DATE": "decided_on is not a valid YYYY-MM-DD date, or is in the future",
    "DUPLICATE_KEY": "(entity_type, entity_id, decided_on, source) was already loaded or seen earlier in the file",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcome_loads (
    load_id      INTEGER PRIMARY KEY,
    source_name  TEXT NOT NULL,
    sha256       TEXT NOT NULL UNIQUE,
    read         INTEGER NOT NULL,
    loaded       INTEGER NOT NULL,
    quarantined  INTEGER NOT NULL,
    by_rule_json TEXT NOT NULL,
    actor        TEXT NOT NULL,
    loaded_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    decided_on   TEXT NOT NULL,
    source       TEXT NOT NULL,
    load_id      INTEGER NOT NULL REFERENCES outcome_loads(load_id),
    line         INTEGER NOT NULL,
    PRIMARY KEY (entity_type, entity_id, decided_on, source)
);
CREATE TABLE IF NOT EXISTS outcome_quarantine (
    id           INTEGER PRIMARY KEY,
    load_id      INTEGER NOT NULL REFERENCES outcome_loads(load_id),
    source_name  TEXT NOT NULL,
    line         INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    message      TEXT NOT NULL,
    raw_json     TEXT NOT NULL
);
"""

_LIST_COLUMNS = ["entity_type", "entity_id", "outcome", "decided_on", "source", "origin"]


@dataclass
class ImportReport:
    """The reconciliation of one outcomes file: read = loaded + quarantined."""

    name: str
    sha256: str
    status: str  # loaded | already_loaded
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class OutcomeStore(HomeStore):
    """Imported outcomes, their loads and quarantine, and the cases' dispositions."""

    SCHEMA = _SCHEMA

    def import_file(self, path: str | Path, *, actor: str = "cli", today: date | None = None) -> ImportReport:
        """Validate and load one outcomes CSV in one transaction.

        Parameters
        ----------
        path : path
            UTF-8 CSV with a header naming at least :data:`OUTCOME_COLUMNS`.
        actor : str
            Who imports, as written to the load record and the audit log.
        today : date, optional
            Dates after it are refused (default: today, UTC).

        Returns
        -------
        ImportReport

        Raises
        ------
        InputRefused
            The file is missing, not UTF-8 text, or its header lacks a column;
            nothing is written.
        """
        path = Path(path)
        if not path.is_file():
            raise InputRefused(f"{path}: no such file")
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        row = self.conn.execute("SELECT load_id FROM outcome_loads WHERE sha256 = ?", (digest,)).fetchone()
        if row is not None:
            return ImportReport(path.name, digest, "already_loaded")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputRefused(f"{path}: not UTF-8 text (byte {exc.start})") from None
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in OUTCOME_COLUMNS if c not in header]
        if missing:
            raise InputRefused(f"{path}: header lacks column(s) {', '.join(missing)}; expected "
                               f"{', '.join(OUTCOME_COLUMNS)}")
        today = today or datetime.now(timezone.utc).date()
        stored = {tuple(r) for r in self.conn.execute(
            "SELECT entity_type, entity_id, decided_on, source FROM outcomes")}
        good, bad = [], []
        for line, values in enumerate(reader, start=2):
            if not values or values == [""]:
                continue
            raw = dict(zip(header, values))
            if len(values) != len(header):
                bad.append((line, "BAD_ROW", f"line {line}: {len(values)} field(s), header has {len(header)}", raw))
                continue
            record, problem = _check(raw, line, today)
            if problem is None:
                key = (record["entity_type"], record["entity_id"], record["decided_on"], record["source"])
                if key in stored:
                    problem = ("DUPLICATE_KEY", f"line {line}: {key[0]} {key[1]} decided on {key[2]} by "
                                                f"{key[3]!r} was already loaded or seen earlier")
                else:
                    stored.add(key)
                    good.append((line, record))
                    continue
            bad.append((line, problem[0], problem[1], raw))
        by_rule: dict[str, int] = {}
        for _, reason, _, _ in bad:
            by_rule[reason] = by_rule.get(reason, 0) + 1
        report = ImportReport(path.name, digest, "loaded", len(good) + len(bad), len(good), len(bad),
                              dict(sorted(by_rule.items())))
        with transaction(self.conn) as c:
            cur = c.execute(
                "INSERT INTO outcome_loads (source_name, sha256, read, loaded, quarantined, by_rule_json, actor,"
                " loaded_at) VALUES (?,?,?,?,?,?,?,?)",
                (path.name, digest, report.read, report.loaded, report.quarantined, json.dumps(report.by_rule),
                 actor, datetime.now(timezone.utc).isoformat(timespec="seconds")))
            load_id = cur.lastrowid
            c.executemany("INSERT INTO outcomes VALUES (?,?,?,?,?,?,?)",
                          [(r["entity_type"], r["entity_id"], r["outcome"], r["decided_on"], r["source"], load_id,
                            line) for line, r in good])
            c.executemany(
                "INSERT INTO outcome_quarantine (load_id, source_name, line, reason, message, raw_json)"
                " VALUES (?,?,?,?,?,?)",
                [(load_id, path.name, line, reason, message, json.dumps(raw, ensure_ascii=False))
                 for line, reason, message, raw in bad])
        return report

    def outcomes(self, *, include_cases: bool = True) -> pd.DataFrame:
        """Every outcome: imported ones, then the cases' dispositions (``origin`` import or case).

        Parameters
        ----------
        include_cases : bool
            Add the viewer's case dispositions after the imported outcomes.

        Returns
        -------
        DataFrame
            Columns entity_type, entity_id, outcome, decided_on, source, origin;
            ordered by decided_on, entity_type, entity_id.
        """
        rows = [(*r, "import") for r in self.conn.execute(
            "SELECT entity_type, entity_id, outcome, decided_on, source FROM outcomes")]
        if include_cases:
            rows += [(*r, "case") for r in _case_dispositions(self.conn)]
        frame = pd.DataFrame(rows, columns=_LIST_COLUMNS)
        return frame.sort_values(["decided_on", "entity_type", "entity_id", "source"],
                                 kind="mergesort").reset_index(drop=True)

    def loads(self) -> pd.DataFrame:
        """Every import: source_name, sha256, read, loaded, quarantined, by_rule_json, actor, loaded_at."""
        rows = [dict(r) for r in self.conn.execute("SELECT * FROM outcome_loads ORDER BY load_id")]
        return pd.DataFrame(rows, columns=["load_id", "source_name", "sha256", "read", "loaded", "quarantined",
                                           "by_rule_json", "actor", "loaded_at"])

    def quarantine(self) -> pd.DataFrame:
        """Refused rows: source_name, line, reason, message, raw_json."""
        rows = [dict(r) for r in self.conn.execute(
            "SELECT source_name, line, reason, message, raw_json FROM outcome_quarantine ORDER BY id")]
        return pd.DataFrame(rows, columns=["source_name", "line", "reason", "message", "raw_json"])


def _check(raw: dict[str, str], line: int, today: date) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The row's normalised values, and the first rule it breaks (code, message) or None."""
    rec = {c: (raw.get(c) or "").strip() for c in OUTCOME_COLUMNS}
    rec["entity_type"] = rec["entity_type"].upper()
    rec["outcome"] = rec["outcome"].lower()
    empty = [c for c in OUTCOME_COLUMNS if not rec[c]]
    if empty:
        return rec, ("MISSING_REQUIRED", f"line {line}: {', '.join(empty)} empty; every column is required")
    if rec["entity_type"] not in ENTITY_TYPES:
        return rec, ("UNKNOWN_ENTITY_TYPE", f"line {line}: entity_type {raw['entity_type']!r}, expected one of "
                                            f"{', '.join(ENTITY_TYPES)}")
    if rec["outcome"] not in OUTCOMES:
        return rec, ("UNKNOWN_OUTCOME", f"line {line}: outcome {raw['outcome']!r}, expected one of "
                                        f"{', '.join(OUTCOMES)}")
    try:
        decided = date.fromisoformat(rec["decided_on"])
        if len(rec["decided_on"]) != 10:
            raise ValueError
    except ValueError:
        return rec, ("BAD_DATE", f"line {line}: decided_on {raw['decided_on']!r}, expected a date YYYY-MM-DD")
    if decided > today:
        return rec, ("BAD_DATE", f"line {line}: decided_on {rec['decided_on']} is after today ({today})")
    return rec, None


def _case_dispositions(conn) -> list[tuple[str, str, str, str, str]]:
    """(RING, ring_id, status, date, 'viewer') for every case whose status is an outcome."""
    has_cases = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cases'").fetchone()
    if has_cases is None:
        return []
    marks = ",".join("?" * len(OUTCOMES))
    return [("RING", str(r[0]), str(r[1]), str(r[2])[:10], "viewer")
            for r in conn.execute(f"SELECT ring_id, status, updated_at FROM cases WHERE status IN ({marks})",
                                  OUTCOMES)]
