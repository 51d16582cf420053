"""The parts of a ring page computed from its lines: timeline, geography, graph, change since the last run.

Plain functions over frames, no I/O; :mod:`casework.ringpages` stores what they return.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
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


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_KM * math.asin(math.sqrt(h))


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
    if lines.empty:
        return {"regions": [], "flows": [], "providers": []}

    def column(name: str) -> list[str]:
        values = lines[name].astype(object).where(lines[name].notna(), None).tolist()
        return ["" if v is None else str(v) for v in values]

    benes, providers_of, homes, places = column("beneficiary_id"), column("provider_id"), \
        column("beneficiary_region"), column("provider_region")
    amounts = lines["amount_claimed"].astype(float).tolist()
    risky = lines["at_risk"].astype(bool).tolist()
    where: dict[str, tuple[float, float]] = {}
    known: dict[str, dict[str, Any]] = {}
    if providers is not None and len(providers):
        for rec in providers.to_dict("records"):
            pid = str(rec["provider_id"])
            known.setdefault(pid, rec)
            lat, lon = rec.get("latitude"), rec.get("longitude")
            if lat is not None and lon is not None and not (pd.isna(lat) or pd.isna(lon)):
                where.setdefault(pid, (float(lat), float(lon)))
    centre = {code: (float(REGION_CENTRES[i][0]), float(REGION_CENTRES[i][1])) for i, code in enumerate(REGION_CODES)}
    flows: dict[tuple[str, str], dict[str, Any]] = {}
    regions: dict[str, dict[str, Any]] = {}
    own: dict[str, dict[str, Any]] = {}
    for bene, pid, home, place, amount, at_risk in zip(benes, providers_of, homes, places, amounts, risky):
        flow = flows.setdefault((home, place), {"patients": set(), "n_lines": 0, "amount": 0.0, "amount_at_risk": 0.0,
                                                "km": 0.0, "n_measured": 0})
        flow["patients"].add(bene)
        flow["n_lines"] += 1
        flow["amount"] += amount
        flow["amount_at_risk"] += amount if at_risk else 0.0
        if home in centre and pid in where:
            flow["km"] += _km(centre[home], where[pid])
            flow["n_measured"] += 1
        if home:
            region = regions.setdefault(home, {"patients": set(), "providers": set(), "n_lines": 0,
                                               "amount_at_risk": 0.0})
            region["patients"].add(bene)
            region["n_lines"] += 1
            region["amount_at_risk"] += amount if at_risk else 0.0
        if pid in member_providers:
            mine = own.setdefault(pid, {"region": place or None, "n_lines": 0, "amount": 0.0})
            mine["n_lines"] += 1
            mine["amount"] += amount
            if place:
                regions.setdefault(place, {"patients": set(), "providers": set(), "n_lines": 0,
                                           "amount_at_risk": 0.0})["providers"].add(pid)
    return jsonable({
        "regions": [{"region": code, "n_patients": len(r["patients"]), "n_providers": len(r["providers"]),
                     "n_lines": r["n_lines"], "amount_at_risk": r["amount_at_risk"]} for code, r in sorted(regions.items())],
        "flows": [{"patient_region": home, "provider_region": place, "n_patients": len(f["patients"]),
                   "n_lines": f["n_lines"], "amount": f["amount"], "amount_at_risk": f["amount_at_risk"],
                   "distance_km": f["km"] / f["n_measured"] if f["n_measured"] else None, "n_measured": f["n_measured"]}
                  for (home, place), f in sorted(flows.items())],
        "providers": [{"provider_id": pid, "region": p["region"],
                       "city": (known.get(pid) or {}).get("city"),
                       "latitude": where[pid][0] if pid in where else None,
                       "longitude": where[pid][1] if pid in where else None,
                       "n_lines": p["n_lines"], "amount": p["amount"]} for pid, p in sorted(own.items())],
    })


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
    by_day = {d["date"]: d for d in days}
    first, last = date.fromisoformat(min(by_day)), date.fromisoformat(max(by_day))
    full = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    pad_left, pad_bottom, pad_top = 70, 24, 10
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    top = max(d["amount_at_risk"] + d["amount_tie_only"] for d in days) or 1.0
    bar_w = min(max(plot_w / len(full), 1.0), 40.0)
    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Amount at risk per day" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0.0, 0.5, 1.0):
        y = pad_top + plot_h * (1 - frac)
        parts.append(f'<line x1="{pad_left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{pad_left - 6}" y="{y + 4:.1f}" text-anchor="end">{top * frac:,.0f}</text>')
    for i, day in enumerate(full):
        rec = by_day.get(day.isoformat())
        if rec is None:
            continue
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
    parts.append(f'<text x="{pad_left}" y="{height - 6}">{first:%Y-%m-%d}</text>'
                 f'<text x="{width - 10}" y="{height - 6}" text-anchor="end">{last:%Y-%m-%d}</text></svg>')
    return "".join(parts)
