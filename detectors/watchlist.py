"""The prior-authorisation watchlist: which act families of which providers should need
a prior authorisation, because the run found them billing a ring's acts.

A candidate is one (provider, act family, ring): a provider member of a ring whose
lines at risk (the one rule of :func:`detectors.rings.at_risk_mask`) in that family
amount to at least ``min_amount`` dirhams and ``min_share`` of the provider's lines
at risk in the ring. The listed entry of a (provider, act family) is its candidate of
the best-ranked ring whose case is not dismissed, so an entry leaves the list when its
case is dismissed or when the run no longer finds the evidence (the ring is gone, or
its acts in that family fell below the floor). Pure functions: the caller reads case
statuses and history and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from detectors.rings import at_risk_mask

__all__ = ["watchlist_candidates", "listed_entries", "CANDIDATE_COLUMNS", "WATCHLIST_COLUMNS",
           "CLOSED_STATUSES"]

#: One row per (provider, act family, ring) that could be listed.
CANDIDATE_COLUMNS = ["provider_id", "provider_type", "act_family", "ring_id", "ring_rank", "scenario",
                     "amount_at_risk", "n_dossiers", "reason"]
#: The columns of ``watchlist.csv`` (findings contract).
WATCHLIST_COLUMNS = ["provider_id", "provider_type", "act_family", "ring_id", "ring_rank", "scenario",
                     "amount_at_risk", "n_dossiers", "since", "since_run", "reason"]
#: Case statuses that take a ring's providers off the list.
CLOSED_STATUSES = ("dismissed",)


def watchlist_candidates(rings: pd.DataFrame, members: pd.DataFrame, lines: pd.DataFrame, *,
                         min_amount: float = 1000.0, min_share: float = 0.1) -> pd.DataFrame:
    """Every (provider, act family, ring) whose acts at risk make it a watchlist candidate.

    Parameters
    ----------
    rings : DataFrame
        The run's rings (``ring_id``, ``rank``, ``scenario``).
    members : DataFrame
        The run's members (``ring_id``, ``entity_type``, ``entity_id``, ``evidence``).
    lines : DataFrame
        :func:`detectors.base.line_flags` of the run's claims window.
    min_amount : float
        Fewest dirhams at risk in the family for it to be listed.
    min_share : float
        Smallest share of the provider's amount at risk in the ring the family must make.

    Returns
    -------
    DataFrame
        :data:`CANDIDATE_COLUMNS`, sorted by ring rank, provider, act family.
    """
    if rings.empty or members.empty or lines.empty:
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)
    ring_providers = set(members.loc[members["entity_type"] == "PROVIDER", "entity_id"].astype(str))
    lines = lines.loc[lines["provider_id"].isin(ring_providers)]
    ptypes = lines.groupby("provider_id")["provider_type"].first().to_dict()
    rows = []
    for ring in rings.sort_values("rank", kind="mergesort").itertuples(index=False):
        ring_members = members[members["ring_id"] == ring.ring_id]
        at_risk = lines.loc[at_risk_mask(lines, ring_members)]
        if at_risk.empty:
            continue
        evidence = dict(zip(ring_members.loc[ring_members["entity_type"] == "PROVIDER", "entity_id"].astype(str),
                            ring_members.loc[ring_members["entity_type"] == "PROVIDER", "evidence"].astype(str)))
        total = at_risk.groupby("provider_id")["amount_claimed"].sum()
        per_family = at_risk.groupby(["provider_id", "act_family"]).agg(
            amount=("amount_claimed", "sum"), n_dossiers=("claim_id", "nunique"))
        for (provider, family), agg in per_family.iterrows():
            amount = float(agg["amount"])
            if amount < min_amount or amount < min_share * float(total[provider]):
                continue
            scenario = str(getattr(ring, "scenario", "") or "")
            rows.append({
                "provider_id": str(provider), "provider_type": str(ptypes.get(provider, "")),
                "act_family": str(family), "ring_id": str(ring.ring_id), "ring_rank": int(ring.rank),
                "scenario": scenario, "amount_at_risk": round(amount, 2), "n_dossiers": int(agg["n_dossiers"]),
                "reason": (f"{family.lower().replace('_', ' ')} billed for ring {ring.ring_id} "
                           f"({scenario.replace('_', ' ') or 'ring'}, rank {int(ring.rank)}): "
                           f"{amount:,.0f} MAD at risk on {int(agg['n_dossiers'])} dossier(s); "
                           f"{evidence.get(str(provider), '')}").rstrip("; "),
            })
    if not rows:
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)
    out = pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)
    return out.sort_values(["ring_rank", "provider_id", "act_family"], kind="mergesort", ignore_index=True)


def listed_entries(candidates: pd.DataFrame, case_status: Mapping[str, str], *,
                   previous: pd.DataFrame | None = None, run_id: str = "", listed_on: str = "") -> pd.DataFrame:
    """The watchlist: each (provider, act family) once, from its best ring not dismissed.

    Parameters
    ----------
    candidates : DataFrame
        :func:`watchlist_candidates` of the run.
    case_status : mapping
        ring_id -> case status; rings whose case is in :data:`CLOSED_STATUSES` list nothing.
    previous : DataFrame, optional
        The watchlist of the run before (``provider_id``, ``act_family``, ``since``,
        ``since_run``): an entry it held keeps its ``since``; any other starts now.
    run_id, listed_on : str
        This run's id and date, the ``since`` of entries new to the list.

    Returns
    -------
    DataFrame
        :data:`WATCHLIST_COLUMNS`, by ring rank then provider and family.
    """
    if candidates.empty:
        return pd.DataFrame(columns=WATCHLIST_COLUMNS)
    open_ = ~candidates["ring_id"].map(lambda r: case_status.get(str(r)) in CLOSED_STATUSES).to_numpy(bool)
    kept = candidates.loc[open_].sort_values(["provider_id", "act_family", "ring_rank"], kind="mergesort")
    kept = kept.drop_duplicates(["provider_id", "act_family"])
    since = np.full(len(kept), listed_on, dtype=object)
    since_run = np.full(len(kept), run_id, dtype=object)
    if previous is not None and len(previous):
        before = previous.drop_duplicates(["provider_id", "act_family"]).set_index(["provider_id", "act_family"])
        key = pd.MultiIndex.from_arrays([kept["provider_id"].astype(str), kept["act_family"].astype(str)])
        held = key.isin(before.index)
        if held.any():
            since[held] = before["since"].reindex(key[held]).astype(str).to_numpy()
            since_run[held] = before["since_run"].reindex(key[held]).astype(str).to_numpy()
    out = kept.assign(since=since, since_run=since_run)[WATCHLIST_COLUMNS]
    return out.sort_values(["ring_rank", "provider_id", "act_family"], kind="mergesort", ignore_index=True)
