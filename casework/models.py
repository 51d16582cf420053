"""Learned models, versioned, under ``HOME/models/`` and catalogued in ``HOME/shabaka.sqlite``.

A model is one JSON document (its features, exported trees, parameters, the hashes
of the outcomes it was trained on, its cross-validation report): plain data, never
code, so loading it cannot run anything. Its version is ``M-`` and the first 12 hex
digits of the SHA-256 of its canonical JSON, so the same training gives the same
version; the full SHA-256 is kept in SQLite and checked before a model is used, so a
file altered after training is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from casework.store import HomeStore
from ground.errors import NotFound, StoreError
from ground.sqlite import transaction

__all__ = ["ModelStore", "model_version", "canonical_json", "MODELS_DIR"]

MODELS_DIR = "models"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    version      TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL,
    file         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    n_outcomes   INTEGER NOT NULL,
    window_from  TEXT,
    window_to    TEXT,
    report_json  TEXT NOT NULL
);
"""


def canonical_json(doc: dict[str, Any]) -> bytes:
    """The bytes a model is hashed and stored as: sorted keys, no spaces, UTF-8.

    Parameters
    ----------
    doc
        The model document (plain JSON data).
    """
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def model_version(doc: dict[str, Any]) -> str:
    """``M-`` and the first 12 hex digits of the SHA-256 of the model's canonical JSON.

    Parameters
    ----------
    doc
        The model document (plain JSON data).
    """
    return "M-" + hashlib.sha256(canonical_json(doc)).hexdigest()[:12]


class ModelStore(HomeStore):
    """The learned models of a home."""

    SCHEMA = _SCHEMA

    def _opened(self) -> None:
        self.dir = self.home / MODELS_DIR

    def save(self, doc: dict[str, Any]) -> str:
        """Write a model (atomically) and catalogue it; the same model saved again keeps its first date.

        Parameters
        ----------
        doc
            The model document (plain JSON data).

        Returns
        -------
        str
            Its version.
        """
        body = canonical_json(doc)
        digest = hashlib.sha256(body).hexdigest()
        version = "M-" + digest[:12]
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.dir / f"{version}.json"
        tmp = self.dir / f".{version}.json.{os.getpid()}"
        tmp.write_bytes(body)
        os.replace(tmp, target)
        window = doc.get("window") or [None, None]
        with transaction(self.conn) as c:
            c.execute("INSERT OR IGNORE INTO models VALUES (?,?,?,?,?,?,?,?)",
                      (version, digest, target.name, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       int(doc.get("outcomes", {}).get("n", 0)), window[0], window[1],
                       json.dumps(doc.get("report") or {}, sort_keys=True)))
        return version

    def models(self) -> pd.DataFrame:
        """Every model, newest first: version, sha256, file, created_at, n_outcomes, window, report_json."""
        rows = [dict(r) for r in self.conn.execute("SELECT * FROM models ORDER BY created_at DESC, rowid DESC")]
        return pd.DataFrame(rows, columns=["version", "sha256", "file", "created_at", "n_outcomes", "window_from",
                                           "window_to", "report_json"])

    def latest_version(self) -> str | None:
        """The newest model's version, or None when none was trained."""
        row = self.conn.execute("SELECT version FROM models ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def load(self, version: str) -> dict[str, Any]:
        """The model document, after checking its file against the SHA-256 recorded when it was trained.

        Parameters
        ----------
        version
            A model version, ``M-`` and 12 hex digits.

        Raises
        ------
        NotFound
            No such version, or its file is gone.
        StoreError
            The file's SHA-256 differs from the recorded one (altered after training).
        """
        row = self.conn.execute("SELECT sha256, file FROM models WHERE version = ?", (version,)).fetchone()
        if row is None:
            raise NotFound(f"model {version!r} not found in {self.path}")
        path = self.dir / str(row["file"])
        if not path.is_file():
            raise NotFound(f"model {version}: file {path} missing")
        body = path.read_bytes()
        if hashlib.sha256(body).hexdigest() != row["sha256"]:
            raise StoreError(f"model {version}: {path} does not match the SHA-256 recorded when it was trained; "
                             "refusing to use it (retrain with 'shabaka learn')")
        return json.loads(body)
