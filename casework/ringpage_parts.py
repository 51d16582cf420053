"""The parts of a ring page computed from its lines: timeline, geography, graph, change since the last run.

Plain functions over frames, no I/O; :mod:`casework.ringpages` stores what they return.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ingest.synthetic.catalogue import REGION_CENTRES, REGION_CODES

__all__ = ["timeline", "timeline_svg", "geography", "graph_to_json", "graph_from_json", "ring_changes", "jsonable"]

_EARTH_KM = 6371.0


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and NaN/NA as None (for ``json.dumps``).

    Parameters
    ----------
    value : object
        A scalar, or a dict/list/tuple of them.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def timeline(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Per service day: lines, lines at risk, amount at risk and amount of the lines tying the ring only.

    Amounts are not rounded, so the days add up to the ring's totals.

    Parameters
    ----------
    lines : DataFrame
        The ring's lines with ``at_risk`` (:func:`casework.ringlines.ring_lines`).
    """
    if lines.empty:
        return []
    risky = lines["at_risk"].to_numpy(bool)
    amount = lines["amount_claimed"].astype(float).to_numpy()
    days = pd.to_datetime(lines["service_date"]).dt.strftime("%Y-%m-%d").to_numpy(object)
    frame = pd.DataFrame({"date": days, "n_lines": 1, "n_at_risk": risky.astype(int),
                          "amount_at_risk": np.where(risky, amount, 0.0),
                          "amount_tie_only": np.where(risky, 0.0, amount)})
    out = frame.groupby("date", sort=True).sum().reset_index()
    return jsonable(out.to_dict("records"))


def _distance_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (np.radians(a) for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_KM * np.arcsin(np.sqrt(a))


def geography(lines: pd.DataFrame, providers: pd.DataFrame | None, member_providers: set[str]) -> dict[str, Any]:
    """Where the ring's patients live and where they were billed, for the region map.

    A patient's place is the main city of the region of residence (the claims
    carry no finer one); a provider's is its coordinates in the providers table.
    A flow's distance is the mean, over its lines, of the distance between the two,
    where the provider's coordinates are known.

    Parameters
    ----------
    lines : DataFrame
        The ring's lines (with ``beneficiary_region``, ``provider_region``, ``at_risk``).
    providers : DataFrame, optional
        The providers table (provider_id, name, region, city, latitude, longitude).
    member_providers : set of str
        The ring's PROVIDER members.

    Returns
    -------
    dict
        ``regions``: per region code, patients living there, member providers there,
        lines, amount at risk of its patients' lines; ``flows``: per (patient region,
        provider region), patients, lines, amount, amount at risk, mean distance in km
        (None without coordinates) and the lines it was measured on; ``providers``:
        the member providers with region, city and coordinates (None when unknown).
    """
    empty = {"regions": [], "flows": [], "providers": []}
    if lines.empty:
        return empty
    frame = pd.DataFrame({
        "bene": lines["beneficiary_id"].astype(str).to_numpy(object),
        "provider": lines["provider_id"].astype(str).to_numpy(object),
        "from": lines["beneficiary_region"].astype(object).where(lines["beneficiary_region"].notna(), "").astype(str).to_numpy(object),
        "to": lines["provider_region"].astype(object).where(lines["provider_region"].notna(), "").astype(str).to_numpy(object),
        "amount": lines["amount_claimed"].astype(float).to_numpy(),
        "risky": lines["at_risk"].to_numpy(bool),
    })
    frame["amount_at_risk"] = np.where(frame["risky"], frame["amount"], 0.0)
    coords = pd.DataFrame(columns=["provider_id", "latitude", "longitude", "region", "city"])
    if providers is not None and len(providers):
        coords = providers.assign(provider_id=providers["provider_id"].astype(str)).drop_duplicates("provider_id")
    lat = frame["provider"].map(dict(zip(coords["provider_id"], coords["latitude"]))).astype(float).to_numpy()
    lon = frame["provider"].map(dict(zip(coords["provider_id"], coords["longitude"]))).astype(float).to_numpy()
    centre = {code: REGION_CENTRES[i] for i, code in enumerate(REGION_CODES)}
    home_lat = np.array([centre[r][0] if r in centre else np.nan for r in frame["from"]], dtype=float)
    home_lon = np.array([centre[r][1] if r in centre else np.nan for r in frame["from"]], dtype=float)
    frame["km"] = _distance_km(home_lat, home_lon, lat, lon)
    flows = frame.groupby(["from", "to"], sort=True).agg(
        n_patients=("bene", "nunique"), n_lines=("bene", "size"), amount=("amount", "sum"),
        amount_at_risk=("amount_at_risk", "sum"), distance_km=("km", "mean"), n_measured=("km", "count"),
    ).reset_index().rename(columns={"from": "patient_region", "to": "provider_region"})
    patients = frame.groupby("from").agg(n_patients=("bene", "nunique"), n_lines=("bene", "size"),
                                         amount_at_risk=("amount_at_risk", "sum"))
    own = frame[frame["provider"].isin(member_providers)]
    provider_regions = own.groupby("to")["provider"].nunique()
    codes = sorted((set(patients.index) | set(provider_regions.index)) - {""})
    regions = [{"region": code, "n_patients": int(patients["n_patients"].get(code, 0)),
                "n_providers": int(provider_regions.get(code, 0)), "n_lines": int(patients["n_lines"].get(code, 0)),
                "amount_at_risk": float(patients["amount_at_risk"].get(code, 0.0))} for code in codes]
    known = coords.set_index("provider_id")
    where = own.groupby("provider").agg(region=("to", "first"), n_lines=("bene", "size"), amount=("amount", "sum"))
    listed = []
    for pid, rec in where.sort_index().iterrows():
        info = known.loc[pid] if pid in known.index else None
        listed.append({"provider_id": pid, "region": rec["region"] or None,
                       "city": None if info is None else info.get("city"),
                       "latitude": None if info is None else info.get("latitude"),
                       "longitude": None if info is None else info.get("longitude"),
                       "n_lines": int(rec["n_lines"]), "amount": float(rec["amount"])})
    return jsonable({"regions": regions, "flows": flows.to_dict("records"), "providers": listed})


def graph_to_json(G: nx.Graph) -> dict[str, Any]:
    """A ring's graph as plain lists (nodes with their attributes, edges with theirs).

    Parameters
    ----------
    G : networkx.Graph
    """
    return jsonable({"nodes": [[n, d] for n, d in G.nodes(data=True)],
                     "edges": [[a, b, d] for a, b, d in G.edges(data=True)]})


def graph_from_json(data: dict[str, Any]) -> nx.Graph:
    """The graph :func:`graph_to_json` stored.

    Parameters
    ----------
    data : dict
    """
    G = nx.Graph()
    G.add_nodes_from((n, d) for n, d in data.get("nodes", []))
    G.add_edges_from((a, b, d) for a, b, d in data.get("edges", []))
    return G


def ring_changes(ring: dict[str, Any], members: pd.DataFrame, previous: dict[str, Any] | None,
                 alert: dict[str, Any] | None) -> dict[str, Any]:
    """What changed for a ring since the previous run of the same home.

    Parameters
    ----------
    ring : dict
        This run's ring (ring_id, rank, amount_at_risk).
    members : DataFrame
        This run's members of the ring (entity_type, entity_id, role).
    previous : dict, optional
        ``{"run_id", "ring": dict or None, "members": DataFrame}``: the previous run and
        the same ring in it; None when there is no previous run.
    alert : dict, optional
        This run's alert row for the ring (change, detail, alerted).

    Returns
    -------
    dict
        previous_run, in_previous, previous_rank, previous_amount_at_risk,
        amount_delta, members_added, members_removed (entity_type, entity_id, role), alert.
    """
    def keyed(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
        return {(str(t), str(i)): str(r) for t, i, r in zip(frame["entity_type"], frame["entity_id"], frame["role"])}

    out: dict[str, Any] = {"previous_run": None, "in_previous": False, "previous_rank": None,
                           "previous_amount_at_risk": None, "amount_delta": None,
                           "members_added": [], "members_removed": [], "alert": alert}
    if previous is None:
        return jsonable(out)
    out["previous_run"] = previous["run_id"]
    before = previous.get("ring")
    if before is None:
        return jsonable(out)
    now, then = keyed(members), keyed(previous["members"])
    out.update(in_previous=True, previous_rank=before["rank"], previous_amount_at_risk=before["amount_at_risk"],
               amount_delta=round(float(ring["amount_at_risk"]) - float(before["amount_at_risk"]), 2),
               members_added=[{"entity_type": t, "entity_id": i, "role": now[(t, i)]} for t, i in sorted(set(now) - set(then))],
               members_removed=[{"entity_type": t, "entity_id": i, "role": then[(t, i)]}
                                for t, i in sorted(set(then) - set(now))])
    return jsonable(out)


def timeline_svg(days: list[dict[str, Any]], *, width: int = 860, height: int = 160) -> str:
    """A bar chart (inline SVG markup) per day: the amount at risk, with the amount of lines tying the ring
    only on top; drawn once when the ring page is written.

    Parameters
    ----------
    days : list of dict
        :func:`timeline`'s days.
    width, height : int
        Of the drawing, in pixels.
    """
    if not days:
        return '<p class="muted">No claim lines for this ring in the run\'s window.</p>'
    frame = pd.DataFrame(days)
    frame.index = pd.to_datetime(frame["date"])
    full = pd.date_range(frame.index.min(), frame.index.max(), freq="D")
    frame = frame.drop(columns=["date"]).reindex(full, fill_value=0)
    pad_left, pad_bottom, pad_top = 70, 24, 10
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    top = float((frame["amount_at_risk"] + frame["amount_tie_only"]).max()) or 1.0
    bar_w = min(max(plot_w / len(frame), 1.0), 40.0)
    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Amount at risk per day" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0.0, 0.5, 1.0):
        y = pad_top + plot_h * (1 - frac)
        parts.append(f'<line x1="{pad_left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{pad_left - 6}" y="{y + 4:.1f}" text-anchor="end">{top * frac:,.0f}</text>')
    for i, (day, rec) in enumerate(frame.iterrows()):
        risky, tie = float(rec["amount_at_risk"]), float(rec["amount_tie_only"])
        h_risk, h_tie = plot_h * risky / top, plot_h * tie / top
        x = pad_left + i * bar_w
        title = escape(f"{day:%Y-%m-%d}: {risky:,.2f} MAD at risk ({int(rec['n_at_risk'])} lines)"
                       + (f", {tie:,.2f} MAD tying the ring only" if tie else ""))
        w = max(bar_w - 1, 0.8)
        parts.append(f'<g><title>{title}</title><rect class="at-risk" x="{x:.1f}" y="{pad_top + plot_h - h_risk:.1f}" '
                     f'width="{w:.1f}" height="{h_risk:.1f}"/>')
        if tie:
            parts.append(f'<rect class="tie-only" x="{x:.1f}" y="{pad_top + plot_h - h_risk - h_tie:.1f}" '
                         f'width="{w:.1f}" height="{h_tie:.1f}"/>')
        parts.append("</g>")
    first, last = frame.index.min(), frame.index.max()
    parts.append(f'<text x="{pad_left}" y="{height - 6}">{first:%Y-%m-%d}</text>'
                 f'<text x="{width - 10}" y="{height - 6}" text-anchor="end">{last:%Y-%m-%d}</text></svg>')
    return "".join(parts)
