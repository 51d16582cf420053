"""The findings files of the findings contract, written atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from detectors.pipeline import ENTITY_SCORE_COLUMNS
from detectors.rings import MEMBER_COLUMNS, RING_COLUMNS
from ground.errors import InputRefused, NotFound

__all__ = ["write_findings", "read_findings", "FINDINGS_FILES"]

FINDINGS_FILES = {"rings": "rings.csv", "members": "members.csv", "entity_scores": "entity_scores.csv"}
_COLUMNS = {"rings": RING_COLUMNS, "members": MEMBER_COLUMNS, "entity_scores": ENTITY_SCORE_COLUMNS}


def write_findings(result, out_dir: str | Path) -> Path:
    """Write rings.csv, members.csv and entity_scores.csv into ``out_dir``.

    The files are written to a temporary folder beside ``out_dir`` and moved in
    place, so a reader never sees half a run; files of ``out_dir`` other than these
    three are kept.

    Parameters
    ----------
    result : DetectionResult
        Or any object with ``rings``, ``members`` and ``entity_scores`` frames.
    out_dir : path

    Returns
    -------
    Path
        ``out_dir``.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for key, name in FINDINGS_FILES.items():
            frame = getattr(result, key)
            cols = _COLUMNS[key] + [c for c in frame.columns if c not in _COLUMNS[key]]
            frame.reindex(columns=cols).to_csv(tmp / name, index=False)
        if not out.exists():
            os.replace(tmp, out)
            return out
        for name in FINDINGS_FILES.values():
            os.replace(tmp / name, out / name)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def read_findings(findings_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the three findings files of ``findings_dir``.

    Returns
    -------
    dict
        ``rings``, ``members``, ``entity_scores`` DataFrames (ids as strings).

    Raises
    ------
    NotFound
        When the folder or one of the files is missing.
    InputRefused
        When a file lacks a contract column.
    """
    folder = Path(findings_dir)
    out = {}
    for key, name in FINDINGS_FILES.items():
        path = folder / name
        if not path.is_file():
            raise NotFound(f"{path}: findings file missing (expected {', '.join(FINDINGS_FILES.values())})")
        frame = pd.read_csv(path, dtype={"ring_id": str, "entity_id": str, "entity_type": str, "role": str},
                            keep_default_na=False, na_values={"score": [""], "amount_at_risk": [""]})
        required = [c for c in _COLUMNS[key] if c not in ("scenario", "regions", "regimes", "detectors")]
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise InputRefused(f"{path}: missing column(s) {missing}; expected {required}")
        out[key] = frame
    return out
