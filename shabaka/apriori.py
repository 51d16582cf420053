"""What each run leaves for the a-priori control: the prior-authorisation watchlist and
the lookup index that scores incoming dossiers.

:func:`prepare_apriori` computes them from a finished detection (before the run is
stored); :func:`store_apriori` writes them to SQLite before the run itself, and
:func:`write_watchlist` writes ``watchlist.csv`` beside the findings files. An entry keeps
the ``since`` of the previous run of the same kind when that run listed it too.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from casework.apriori import AprioriStore
from casework.cases import CaseStore
from casework.runs import RunStore
from ground.settings import Settings

__all__ = ["Apriori", "prepare_apriori", "store_apriori", "write_watchlist", "WATCHLIST_FILE"]

log = logging.getLogger(__name__)
WATCHLIST_FILE = "watchlist.csv"


@dataclass
class Apriori:
    """A run's watchlist candidates, its listed watchlist and its index rows."""

    candidates: pd.DataFrame
    listed: pd.DataFrame
    index_rows: list[tuple[str, str, str, str]]
    key_id: str


def prepare_apriori(settings: Settings, run_id: str, kind: str, result, claims: pd.DataFrame) -> Apriori:
    """Compute the watchlist and the risk index of a finished detection.

    Parameters
    ----------
    settings : Settings
    run_id : str
        The id the run will be stored under.
    kind : {"weekly", "detect"}
        Entries listed by the latest earlier run of this kind keep their ``since``.
    result : DetectionResult
    claims : DataFrame
        The claims the run detected on.

    Returns
    -------
    Apriori
    """
    from detectors.base import line_flags
    from detectors.config import DetectionConfig
    from detectors.dossier_risk import build_risk_index, identifier_hasher, key_fingerprint
    from detectors.watchlist import listed_entries, watchlist_candidates
    from export.pseudonym import Pseudonymiser, load_pseudonym_key

    home = settings.home_path
    lines = line_flags(claims, config=DetectionConfig.from_mapping(result.params.get("config")))
    # the index learns which act families usually carry a prior authorisation
    lines["prior_auth_id"] = claims["prior_auth_id"].reset_index(drop=True).to_numpy()
    candidates = watchlist_candidates(result.rings, result.members, lines)
    with CaseStore(home) as cases:
        statuses = cases.statuses()
    listed = listed_entries(candidates, statuses, previous=_previous_listed(home, run_id, kind), run_id=run_id,
                            listed_on=datetime.now(timezone.utc).date().isoformat())
    since = listed.set_index(["provider_id", "act_family"])["since"]
    key = load_pseudonym_key(settings)
    pseudonyms = Pseudonymiser(key)
    indicators = next((f.scores for f in result.findings if f.detector == "indicators"), None)
    index = build_risk_index(
        run_id, rings=result.rings, members=result.members,
        watchlist=candidates.assign(since=[since.get((p, f), "") or "" for p, f in
                                           zip(candidates["provider_id"], candidates["act_family"])]),
        intermediaries=result.intermediaries, lines=lines, indicator_scores=indicators,
        hasher=identifier_hasher(key), name_intermediary=lambda i: pseudonyms.pseudonym(i, "INT"))
    log.info("run %s: watchlist %d entries (%d candidates), risk index %d keys", run_id, len(listed),
             len(candidates), sum(len(v) for v in index.tables.values()))
    return Apriori(candidates, listed, index.rows(), key_fingerprint(key))


def store_apriori(home: Path, run_id: str, apriori: Apriori) -> None:
    """Write the run's watchlist and index (before the run itself is stored)."""
    with AprioriStore(home) as store:
        store.save(run_id, candidates=apriori.candidates, listed=apriori.listed, index_rows=apriori.index_rows,
                   key_id=apriori.key_id)


def write_watchlist(listed: pd.DataFrame, folder: Path) -> Path:
    """Write ``watchlist.csv`` into ``folder`` atomically (a reader never sees half of it)."""
    from detectors.watchlist import WATCHLIST_COLUMNS

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / WATCHLIST_FILE
    tmp = folder / f".{WATCHLIST_FILE}.{os.getpid()}.tmp"
    listed.reindex(columns=WATCHLIST_COLUMNS).to_csv(tmp, index=False)
    os.replace(tmp, target)
    return target


def _previous_listed(home: Path, run_id: str, kind: str) -> pd.DataFrame | None:
    """The watchlist of the latest earlier run of ``kind`` that left one."""
    with RunStore(home) as runs:
        earlier = [r for r in runs.runs(kind)["run_id"] if r != run_id]
    with AprioriStore(home) as store:
        for previous in earlier:
            if store.has_run(previous):
                return store.listed(previous)
    return None
