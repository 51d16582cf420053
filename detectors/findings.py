"""The one result type every detector returns.

Higher score means more suspicious, and every score carries evidence that an
investigator can read in one sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Findings", "Rows", "SCORE_COLUMNS", "GROUP_COLUMNS"]

#: One row per scored entity.
SCORE_COLUMNS: tuple[str, ...] = ("entity_type", "entity_id", "score", "evidence", "amount_at_risk")
#: One row per member of a candidate group (a community, a funnel, a core...).
GROUP_COLUMNS: tuple[str, ...] = ("group_id", "entity_type", "entity_id", "role", "score", "evidence")


#: Plain rows, each a tuple in the order of :data:`SCORE_COLUMNS` or :data:`GROUP_COLUMNS`.
Rows = Sequence[Sequence[Any]]


def _frame(data: pd.DataFrame | Rows | None, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    """``data`` as a frame with at least ``columns``: rows are taken in that column order, and an
    empty input gives an empty frame with float scores and amounts."""
    if data is None or len(data) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("score", "amount_at_risk") else object)
                             for c in columns})
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(list(data), columns=list(columns))
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"Findings.{what} lacks column(s) {missing}")
    if data["score"].isna().any():
        raise ValueError(f"Findings.{what} has a missing score")
    if data["evidence"].isna().any() or (data["evidence"].astype(str).str.strip() == "").any():
        raise ValueError(f"Findings.{what}: every score needs evidence")
    return data.reset_index(drop=True)


@dataclass(frozen=True)
class Findings:
    """What one detector found.

    Parameters
    ----------
    detector : str
        The detector's ``name``.
    params : mapping
        The parameters it ran with, as given to its ``__init__``.
    scores : DataFrame or sequence of rows, optional
        Columns :data:`SCORE_COLUMNS` (rows are tuples in that order; a frame may
        carry more columns). An entity scored more than once keeps its highest
        score (the first given among equals); the rows are then sorted by score
        descending, then entity type and id.
    groups : DataFrame or sequence of rows, optional
        Columns :data:`GROUP_COLUMNS`: candidate groups of entities (may be empty),
        kept in the order given.
    stats : mapping
        Plain numbers about the run (modularity, graph size...).
    """

    detector: str
    params: Mapping[str, Any]
    scores: pd.DataFrame = field(default=None)
    groups: pd.DataFrame = field(default=None)
    stats: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        scores = _frame(self.scores, SCORE_COLUMNS, "scores")
        scores = (scores.sort_values("score", ascending=False, kind="mergesort")
                  .drop_duplicates(["entity_type", "entity_id"])
                  .sort_values(["score", "entity_type", "entity_id"], ascending=[False, True, True], kind="mergesort")
                  .reset_index(drop=True))
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "groups", _frame(self.groups, GROUP_COLUMNS, "groups"))
