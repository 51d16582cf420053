"""The optional providers file: validated per the contract and upserted by provider_id.

A later file's row replaces an earlier one for the same provider_id (a refreshed
register wins); within one file the first row of an id stays and later ones are
quarantined as DUPLICATE_KEY. Reloading a file with the same SHA-256 does nothing.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.read import Source, open_source
from ingest.schema import ENUMS, PROVIDER_COLUMNS, REGIONS, REQUIRED_PROVIDER_COLUMNS
from ground.sqlite import transaction

__all__ = ["load_providers", "validate_providers"]

_DECIMAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"


def validate_providers(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[int, str, str, str]]]:
    """Check provider rows read as strings.

    Parameters
    ----------
    raw : DataFrame
        Provider rows, every value a string.

    Returns
    -------
    (valid, issues)
        ``valid``: cleaned rows that passed, with their chunk position in ``pos``;
        ``issues``: ``(pos, rule, reason, message)`` for the first problem of each bad row.
    """
    clean = pd.DataFrame(index=raw.index)
    for col in PROVIDER_COLUMNS:
        values = raw[col].astype("str").str.strip() if col in raw.columns else pd.Series("", index=raw.index)
        values = values.mask(values == "")
        clean[col] = values.str.upper() if col in ("provider_type", "region") else values
    checks = [(clean[c].isna(), f"{c} required", "MISSING_REQUIRED", f"{c}: required value is empty")
              for c in REQUIRED_PROVIDER_COLUMNS]
    checks.append((clean["provider_type"].notna() & ~clean["provider_type"].isin(ENUMS["provider_type"]),
                   "provider_type in enum", "UNKNOWN_ENUM",
                   f"provider_type: expected one of {', '.join(ENUMS['provider_type'])}"))
    checks.append((clean["region"].notna() & ~clean["region"].isin(tuple(REGIONS)), "region in enum",
                   "UNKNOWN_ENUM", "region: expected a region code 01..12"))
    for col, limit in (("latitude", 90), ("longitude", 180)):
        text = clean[col]
        ok = text.str.fullmatch(_DECIMAL).fillna(False).astype(bool)
        number = pd.to_numeric(text.where(ok), errors="coerce")
        bad = text.notna() & (~ok | (number.abs() > limit))
        checks.append((bad, f"{col} decimal", "BAD_COORDINATE", f"{col}: expected a number within ±{limit}"))
    duplicate = clean["provider_id"].notna() & clean["provider_id"].duplicated(keep="first")
    checks.append((duplicate, "provider_id unique", "DUPLICATE_KEY", "provider_id: already seen in this file"))
    issues: dict[int, tuple[int, str, str, str]] = {}
    for mask, rule, reason, message in checks:
        for pos in np.flatnonzero(np.asarray(mask, dtype=bool)):
            issues.setdefault(int(pos), (int(pos), rule, reason, message))
    keep = np.ones(len(clean), dtype=bool)
    keep[list(issues)] = False
    valid = clean.loc[keep].copy()
    valid["pos"] = np.flatnonzero(keep)
    return valid, [issues[p] for p in sorted(issues)]


def load_providers(conn: sqlite3.Connection, path: Path | Source) -> dict:
    """Validate and upsert a providers file in one transaction.

    Returns its reconciliation: name, sha256, status, read, loaded, quarantined, by_rule.

    Parameters
    ----------
    conn : sqlite3.Connection
    path : Path or Source
        A providers CSV per the claims contract, or the file as :func:`ingest.read.open_source` prepared it.

    Raises
    ------
    InputRefused
        The file is not CSV/Parquet, not UTF-8, or lacks provider_id or provider_type.
    """
    source = path if isinstance(path, Source) else open_source(path, REQUIRED_PROVIDER_COLUMNS)
    report = {"name": source.name, "sha256": source.sha256, "status": "loaded",
              "read": 0, "loaded": 0, "quarantined": 0, "by_rule": {}}
    seen = conn.execute("SELECT 1 FROM claim_loads WHERE sha256 = ? AND source_format = 'providers'"
                        " AND status = 'loaded'", (source.sha256,)).fetchone()
    if seen:
        report["status"] = "already_loaded"
        return report
    frames, lines, bad = [], [], []
    for chunk in source.chunks(1_000_000):
        frames.append(chunk.frame)
        lines.append(chunk.lines)
        bad.extend(chunk.bad_rows)
    raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    all_lines = np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)
    valid, issues = validate_providers(raw)
    quarantine = [(line, "row shape", "BAD_ROW", message, json.dumps({"_text": text}, ensure_ascii=False))
                  for line, text, message in bad]
    for pos, rule, reason, message in issues:
        quarantine.append((int(all_lines[pos]), rule, reason, message,
                           json.dumps(raw.iloc[pos].to_dict(), ensure_ascii=False)))
    by_rule: dict[str, int] = {}
    for row in quarantine:
        by_rule[row[2]] = by_rule.get(row[2], 0) + 1
    report.update(read=len(raw) + len(bad), loaded=len(valid), quarantined=len(quarantine),
                  by_rule=dict(sorted(by_rule.items())))
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # column by column (validation left the coordinates as decimal text): no Python loop over the rows
    columns = [_values(valid[c]) for c in ("provider_id", "name", "provider_type", "region", "city")]
    columns += [_values(pd.to_numeric(valid[c])) for c in ("latitude", "longitude")]
    rows = zip(*columns, *(itertools.repeat(v, len(valid)) for v in (source.name, source.sha256, now)))
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO claim_loads (source_name, sha256, source_format, batch_id, status, read, loaded,"
            " quarantined, by_rule_json, started_at, finished_at) VALUES (?, ?, 'providers', NULL, 'loaded',"
            " ?, ?, ?, ?, ?, ?)",
            (source.name, source.sha256, report["read"], report["loaded"], report["quarantined"],
             json.dumps(report["by_rule"]), now, now),
        )
        conn.executemany(
            "INSERT INTO providers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(provider_id) DO UPDATE SET"
            " name=excluded.name, provider_type=excluded.provider_type, region=excluded.region, city=excluded.city,"
            " latitude=excluded.latitude, longitude=excluded.longitude, source_name=excluded.source_name,"
            " sha256=excluded.sha256, loaded_at=excluded.loaded_at",
            rows,
        )
        conn.executemany(
            "INSERT INTO quarantine (load_id, dataset, source_name, sha256, line, rule, reason, message, raw_json)"
            " VALUES (?, 'providers', ?, ?, ?, ?, ?, ?, ?)",
            [(cur.lastrowid, source.name, source.sha256, *q) for q in quarantine],
        )
    return report


def _values(series: pd.Series) -> list:
    """Python values of a column, None where missing."""
    return series.astype(object).where(series.notna(), None).tolist()
