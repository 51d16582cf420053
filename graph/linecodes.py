"""Claim lines as integer codes, and the per-edge aggregates computed on them.

The graph build factorises every id column once (:class:`LineCodes`) and sums amounts,
counts claims and takes first and last dates per (source, target) pair with numpy
``bincount`` and ufuncs over those codes (:func:`aggregate_lines`), never a Python object
per line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.schema import ENUMS

__all__ = [
    "LineCodes",
    "LineView",
    "grouped_edges",
    "aggregate_lines",
    "factorize_sorted",
    "count_distinct",
    "FAMILIES",
    "FAMILY_COLUMNS",
]

FAMILIES: tuple[str, ...] = ENUMS["act_family"]
FAMILY_COLUMNS: tuple[str, ...] = tuple(f"amount_{f.lower()}" for f in FAMILIES)


class LineCodes:
    """Per-line integer codes of every id column, computed once and shared.

    Parameters
    ----------
    claims : DataFrame
        The claim lines the graph is built from.
    """

    def __init__(self, claims: pd.DataFrame):
        self.claims = claims
        self.amount = claims["amount_claimed"].to_numpy(dtype=float, na_value=0.0)
        self.dates = claims["service_date"].to_numpy(dtype="datetime64[ns]").view("int64")
        # int32 codes (int8 families): half the resident line-level arrays of int64 ones
        self.claim_code = pd.factorize(claims["claim_id"])[0].astype(np.int32)
        self.prior_code = pd.factorize(claims["prior_auth_id"])[0].astype(np.int32)
        fam = pd.Categorical(claims["act_family"], categories=list(FAMILIES)).codes
        self.family = np.where(fam < 0, FAMILIES.index("OTHER"), fam).astype(np.int8)
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._keys: dict[str, np.ndarray] = {}

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(line codes, sorted unique ids); code -1 where empty.

        Parameters
        ----------
        column : str
        """
        if column not in self._codes:
            codes, uniques = pd.factorize(self.claims[column], sort=True)
            self._codes[column] = (codes.astype(np.int32), np.asarray(uniques, dtype=object))
        return self._codes[column]

    def present(self, column: str, mask: np.ndarray | None) -> np.ndarray:
        """The codes of ``column`` found on the lines of ``mask`` (all lines when None), sorted.

        Parameters
        ----------
        column : str
        mask : ndarray of bool, optional
        """
        codes, uniques = self.codes(column)
        keep = codes >= 0
        if mask is not None:
            keep &= mask
        return np.flatnonzero(np.bincount(codes[keep], minlength=len(uniques)))

    def set_keys(self, column: str, present: np.ndarray, offset: int) -> None:
        """Number the ``present`` codes of ``column`` from ``offset`` (the others get -1).

        Parameters
        ----------
        column : str
        present : ndarray
            Codes of ``column``, sorted (:meth:`present`).
        offset : int
            Key of the first one.
        """
        keys = np.full(len(self.codes(column)[1]), -1, dtype=np.int64)
        keys[present] = offset + np.arange(len(present))
        self._keys[column] = keys

    def keys(self, column: str) -> np.ndarray:
        """The node key of each code of ``column`` (:meth:`set_keys`).

        Parameters
        ----------
        column : str
        """
        return self._keys[column]

    def edges(self, edge_type: str, src_col: str, tgt_col: str, *,
              mask: np.ndarray | None = None) -> dict[str, object]:
        """One edge type's columns: a row per (source, target) pair of the lines, keys and aggregates.

        Parameters
        ----------
        edge_type : str
        src_col, tgt_col : str
            Claims columns of the two ends; their keys must be set (:meth:`set_keys`).
        mask : ndarray of bool, optional
            Only these lines.
        """
        src, _ = self.codes(src_col)
        tgt, tgt_uniques = self.codes(tgt_col)
        keep = (src >= 0) & (tgt >= 0)
        if mask is not None:
            keep &= mask
        width = max(len(tgt_uniques), 1)
        group, pairs = factorize_sorted(src[keep].astype(np.int64) * width + tgt[keep])
        return {"source": self.keys(src_col)[pairs // width], "target": self.keys(tgt_col)[pairs % width],
                "edge_type": edge_type, **aggregate_lines(group, len(pairs), self, keep)}


class LineView:
    """The line-level arrays of :class:`LineCodes` taken at given line positions.

    Parameters
    ----------
    rows : LineCodes
    line : ndarray of int
        Line positions, repeats allowed.
    """

    def __init__(self, rows: LineCodes, line: np.ndarray):
        self.amount = rows.amount[line]
        self.family = rows.family[line]
        self.dates = rows.dates[line]
        self.claim_code = rows.claim_code[line] if len(line) else np.zeros(0, dtype=np.int64)
        self.prior_code = rows.prior_code[line] if len(line) else np.zeros(0, dtype=np.int64)


def grouped_edges(edge_type: str, src: np.ndarray, tgt: np.ndarray, line: np.ndarray,
                   src_keys: np.ndarray, tgt_keys: np.ndarray, rows: LineCodes) -> dict[str, object]:
    """One edge type's columns from (source code, target code, line position) triples.

    Parameters
    ----------
    edge_type : str
    src, tgt : ndarray of int
        Codes of the two ends, one per triple.
    line : ndarray of int
        The line each triple comes from.
    src_keys, tgt_keys : ndarray of int
        Node key of each source and target code.
    rows : LineCodes
    """
    width = max(len(tgt_keys), 1)
    group, pairs = factorize_sorted(src.astype(np.int64) * width + tgt)
    # a line may count for several intermediaries here, so take line positions instead of a mask
    aggregates = aggregate_lines(group, len(pairs), LineView(rows, line), np.ones(len(line), dtype=bool))
    return {"source": src_keys[pairs // width], "target": tgt_keys[pairs % width], "edge_type": edge_type,
            **aggregates}


def aggregate_lines(group: np.ndarray, n_groups: int, rows: LineCodes | LineView,
                    keep: np.ndarray) -> dict[str, np.ndarray]:
    """The aggregate columns of :data:`graph.build.EDGE_COLUMNS` of each group of the kept lines.

    Parameters
    ----------
    group : ndarray of int
        Group of each kept line, 0 to ``n_groups`` - 1.
    n_groups : int
    rows : LineCodes or LineView
    keep : ndarray of bool
        The lines ``group`` describes.
    """
    amount = rows.amount[keep]
    family = rows.family[keep]
    out: dict[str, np.ndarray] = {}
    n_claims_total = int(rows.claim_code.max()) + 1 if len(rows.claim_code) else 1
    out["n_claims"] = count_distinct(group, rows.claim_code[keep], n_claims_total, n_groups)
    out["n_lines"] = np.bincount(group, minlength=n_groups).astype(np.int64)
    out["amount"] = np.round(np.bincount(group, weights=amount, minlength=n_groups), 2)
    # one contiguous array per family (not columns of one 2-D array), so that assembling
    # the edges table can free each as soon as it is copied
    for i, name in enumerate(FAMILY_COLUMNS):
        selected = family == i
        out[name] = np.round(np.bincount(group[selected], weights=amount[selected], minlength=n_groups), 2)
    # every group has a line, so the fill values never survive; ufunc.at beats a pandas group-by here
    dates = rows.dates[keep]
    first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, group, dates)
    last = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, group, dates)
    out["first_date"] = first.view("datetime64[ns]")
    out["last_date"] = last.view("datetime64[ns]")
    prior = rows.prior_code[keep]
    has_prior = prior >= 0
    n_prior_total = int(rows.prior_code.max()) + 1 if len(rows.prior_code) else 1
    out["n_prior_auth"] = count_distinct(group[has_prior], prior[has_prior], max(n_prior_total, 1), n_groups)
    return out


def factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, sorted uniques) of an int64 array; a hash table, much faster here than ``np.unique``.

    Parameters
    ----------
    values : ndarray of int64
    """
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=np.int64)


def count_distinct(group: np.ndarray, values: np.ndarray, n_values: int, n_groups: int) -> np.ndarray:
    """Number of distinct ``values`` per group.

    Parameters
    ----------
    group : ndarray of int
    values : ndarray of int
        Codes below ``n_values``, one per entry of ``group``.
    n_values, n_groups : int
    """
    if not len(group):
        return np.zeros(n_groups, dtype=np.int64)
    pairs = pd.unique(group.astype(np.int64) * n_values + values)
    return np.bincount(pairs // n_values, minlength=n_groups).astype(np.int64)
