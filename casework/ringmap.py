"""Where a ring's patients come from and where they are treated: regions, flows, distances.

Pure functions of a ring's claim lines (and the providers table), so they can run at
view time or be materialised when a run is stored. A patient's place is the seat of
the region they live in (claims carry no patient address); a provider's place is its
coordinates from the providers table, else the seat of its region. Distances are
great-circle kilometres between those places.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ingest.schema import REGIONS

__all__ = [
    "REGION_SEATS", "MIN_PEERS", "haversine_km", "provider_places", "region_counts", "region_flows",
    "patient_pairs", "travel", "lines_travel", "distance_comparison", "distance_sentence", "ProviderRows",
    "PeerIndex",
]

#: Region code -> (seat, latitude, longitude): where a patient of that region is placed.
REGION_SEATS: dict[str, tuple[str, float, float]] = {
    "01": ("Tanger", 35.7595, -5.8340), "02": ("Oujda", 34.6814, -1.9086), "03": ("Fes", 34.0331, -5.0003),
    "04": ("Rabat", 34.0209, -6.8416), "05": ("Beni Mellal", 32.3373, -6.3498),
    "06": ("Casablanca", 33.5731, -7.5898), "07": ("Marrakech", 31.6295, -7.9811),
    "08": ("Errachidia", 31.9314, -4.4244), "09": ("Agadir", 30.4278, -9.5981),
    "10": ("Guelmim", 28.9870, -10.0574), "11": ("Laayoune", 27.1253, -13.1625),
    "12": ("Dakhla", 23.6848, -15.9580),
}
#: Fewer peers than this in the providers' own type and region: compare with the type nationally.
MIN_PEERS = 3
_EARTH_KM = 6371.0
_TYPE_PLURALS = {"CLINIC": "clinics", "HOSPITAL": "hospitals", "DOCTOR": "doctors", "LAB": "labs",
                 "IMAGING": "imaging centres", "PHARMACY": "pharmacies", "DENTIST": "dentists"}


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in kilometres (vectorised; NaN where a coordinate is missing).

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float or array-like
        Degrees.
    """
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def provider_places(lines: pd.DataFrame, providers: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per provider billing in ``lines``: its type, region and place.

    Parameters
    ----------
    lines : DataFrame
        Claim lines (provider_id, provider_type, provider_region).
    providers : DataFrame, optional
        The providers table (provider_id, name, city, region, latitude, longitude).

    Returns
    -------
    DataFrame
        provider_id, provider_type, region, name, city, lat, lon, located
        (``"coordinates"`` or ``"region seat"``; rows without either are dropped).
    """
    cols = ["provider_id", "provider_type", "region", "name", "city", "lat", "lon", "located"]
    if lines.empty:
        return pd.DataFrame(columns=cols)
    base = (lines.reindex(columns=["provider_id", "provider_type", "provider_region"])
            .dropna(subset=["provider_id"]).astype({"provider_id": str})
            .groupby("provider_id", sort=True).first().reset_index()
            .rename(columns={"provider_region": "region"}))
    if providers is not None and len(providers):
        # Only the rows of these providers: the national table is read once per ring, and more.
        providers = providers[providers["provider_id"].astype(str).isin(set(base["provider_id"]))]
    table = (providers.reindex(columns=["provider_id", "name", "city", "region", "latitude", "longitude"])
             .astype({"provider_id": str}).drop_duplicates("provider_id")
             if providers is not None and len(providers) else
             pd.DataFrame(columns=["provider_id", "name", "city", "region", "latitude", "longitude"]))
    out = base.merge(table.rename(columns={"region": "table_region"}), on="provider_id", how="left")
    out["region"] = out["region"].where(out["region"].notna(), out["table_region"]).astype(object)
    seat = out["region"].map(lambda r: REGION_SEATS.get(str(r)) if pd.notna(r) else None)
    known = out["latitude"].notna() & out["longitude"].notna()
    out["lat"] = np.where(known, out["latitude"], [s[1] if s else np.nan for s in seat])
    out["lon"] = np.where(known, out["longitude"], [s[2] if s else np.nan for s in seat])
    out["located"] = np.where(known, "coordinates", "region seat")
    out = out[out["lat"].notna()]
    return out[cols].reset_index(drop=True)


class ProviderRows:
    """The providers table indexed once by provider id, so each ring takes its own rows without a scan.

    Parameters
    ----------
    providers : DataFrame, optional
        The providers table (``provider_id`` and any other columns).
    """

    def __init__(self, providers: pd.DataFrame | None):
        self.table = providers
        has = providers is not None and len(providers)
        self._at = providers.groupby(providers["provider_id"].astype(str), sort=False).indices if has else {}

    def of(self, ids: Iterable[Any]) -> pd.DataFrame | None:
        """The table's rows of ``ids`` (compared as str), in the table's order: what
        ``table[table["provider_id"].astype(str).isin(ids)]`` selects.

        Parameters
        ----------
        ids : iterable
            Provider (or doctor) ids.
        """
        if self.table is None:
            return None
        found = [self._at[i] for i in {str(i) for i in ids} if i in self._at]
        return self.table.iloc[np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)]


def region_counts(lines: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Per region: the ring's patients living there and the ring's providers located there.

    Parameters
    ----------
    lines : DataFrame
        The ring's claim lines (beneficiary_id, beneficiary_region).
    places : DataFrame
        :func:`provider_places` of those lines.

    Returns
    -------
    DataFrame
        region (code), name, patients, providers, amount (claimed by its patients); the 12 regions.
    """
    patients = (lines.dropna(subset=["beneficiary_region"]).groupby("beneficiary_region")["beneficiary_id"]
                .nunique() if len(lines) else pd.Series(dtype=int))
    amount = (lines.dropna(subset=["beneficiary_region"]).groupby("beneficiary_region")["amount_claimed"].sum()
              if len(lines) else pd.Series(dtype=float))
    providers = places.groupby("region")["provider_id"].nunique() if len(places) else pd.Series(dtype=int)
    return pd.DataFrame({
        "region": list(REGIONS), "name": list(REGIONS.values()),
        "patients": [int(patients.get(r, 0)) for r in REGIONS],
        "providers": [int(providers.get(r, 0)) for r in REGIONS],
        "amount": [round(float(amount.get(r, 0.0)), 2) for r in REGIONS],
    })


def region_flows(lines: pd.DataFrame) -> pd.DataFrame:
    """Patients, lines and amount from each region of residence to each region of treatment.

    Parameters
    ----------
    lines : DataFrame
        The ring's claim lines (beneficiary_region, provider_region, beneficiary_id, amount_claimed).

    Returns
    -------
    DataFrame
        from_region, to_region, patients, lines, amount; most patients first.
    """
    cols = ["from_region", "to_region", "patients", "lines", "amount"]
    known = lines.dropna(subset=["beneficiary_region", "provider_region"]) if len(lines) else lines
    if known.empty:
        return pd.DataFrame(columns=cols)
    out = known.groupby(["beneficiary_region", "provider_region"], observed=True).agg(
        patients=("beneficiary_id", "nunique"), lines=("beneficiary_id", "size"),
        amount=("amount_claimed", "sum")).reset_index()
    out = out.rename(columns={"beneficiary_region": "from_region", "provider_region": "to_region"})
    out["amount"] = out["amount"].round(2)
    return out.sort_values(["patients", "amount"], ascending=False, kind="mergesort")[cols].reset_index(drop=True)


def patient_pairs(lines: pd.DataFrame) -> pd.DataFrame:
    """Patients per provider and region of residence: what distances are measured on.

    Small enough to keep per run for every provider (peers included).

    Parameters
    ----------
    lines : DataFrame
        Claim lines (provider_id, provider_type, provider_region, beneficiary_id, beneficiary_region).

    Returns
    -------
    DataFrame
        provider_id, provider_type, provider_region, beneficiary_region, patients (distinct).
    """
    cols = ["provider_id", "provider_type", "provider_region", "beneficiary_region", "patients"]
    known = lines.reindex(columns=cols[:4] + ["beneficiary_id"]).dropna(
        subset=["provider_id", "beneficiary_region", "beneficiary_id"]) if len(lines) else None
    if known is None or known.empty:
        return pd.DataFrame(columns=cols)
    known = known.astype({"provider_id": str, "beneficiary_region": str}).assign(
        provider_type=known["provider_type"].astype(object), provider_region=known["provider_region"].astype(object))
    out = (known.groupby(["provider_id", "beneficiary_region"], sort=True)
           .agg(provider_type=("provider_type", "first"), provider_region=("provider_region", "first"),
                patients=("beneficiary_id", "nunique")).reset_index())
    return out[cols]


def travel(pairs: pd.DataFrame, places: pd.DataFrame) -> dict[str, Any]:
    """How far patients travel to the providers of ``pairs``.

    Parameters
    ----------
    pairs : DataFrame
        :func:`patient_pairs` of some lines.
    places : DataFrame
        :func:`provider_places` covering those providers.

    Returns
    -------
    dict
        pairs (patient-provider pairs with a known distance), median_km (over those
        pairs), share_far (pairs whose patient lives in another region than the
        provider), providers.
    """
    empty = {"pairs": 0, "median_km": None, "share_far": None, "providers": 0}
    if pairs.empty or places.empty:
        return empty
    known = pairs[pairs["beneficiary_region"].isin(REGION_SEATS)].merge(
        places[["provider_id", "lat", "lon", "region"]], on="provider_id", how="inner")
    if known.empty:
        return empty
    seat_lat = known["beneficiary_region"].map(lambda r: REGION_SEATS[r][1])
    seat_lon = known["beneficiary_region"].map(lambda r: REGION_SEATS[r][2])
    km = haversine_km(seat_lat, seat_lon, known["lat"], known["lon"])
    weight = known["patients"].to_numpy(float)
    order = np.argsort(km, kind="mergesort")
    cumulative = np.cumsum(weight[order])
    median = float(km[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])
    far = known["beneficiary_region"].astype(str).to_numpy() != known["region"].astype(str).to_numpy()
    return {"pairs": int(weight.sum()), "median_km": median, "share_far": float((weight * far).sum() / weight.sum()),
            "providers": int(known["provider_id"].nunique())}


def lines_travel(lines: pd.DataFrame, places: pd.DataFrame) -> dict[str, Any]:
    """``travel(patient_pairs(lines), places)``, counted in one pass over a few lines instead of a group-by.

    Parameters
    ----------
    lines : DataFrame
        Claim lines (provider_id, beneficiary_region, beneficiary_id).
    places : DataFrame
        :func:`provider_places` covering their providers (one row per provider).
    """
    if not len(lines) or places.empty:
        return {"pairs": 0, "median_km": None, "share_far": None, "providers": 0}
    columns = ["provider_id", "beneficiary_region", "beneficiary_id"]
    known = lines[columns].notna().all(axis=1).to_numpy(bool)
    patients: dict[tuple[str, str], set[Any]] = {}
    for pid, home, bene in zip(*(lines[c].to_numpy(object)[known] for c in columns)):
        patients.setdefault((str(pid), str(home)), set()).add(bene)
    where = {pid: (lat, lon, region) for pid, lat, lon, region in zip(
        places["provider_id"], places["lat"].to_numpy(float), places["lon"].to_numpy(float),
        places["region"].astype(str))}
    kept = [(pid, home, len(benes)) for (pid, home), benes in patients.items()
            if home in REGION_SEATS and pid in where]
    if not kept:
        return {"pairs": 0, "median_km": None, "share_far": None, "providers": 0}
    km = haversine_km([REGION_SEATS[h][1] for _, h, _ in kept], [REGION_SEATS[h][2] for _, h, _ in kept],
                      [where[p][0] for p, _, _ in kept], [where[p][1] for p, _, _ in kept])
    return _weighted_travel(km, np.array([n for _, _, n in kept], dtype=float),
                            np.array([h != where[p][2] for p, h, _ in kept]), len({p for p, _, _ in kept}))


def distance_comparison(ring_lines: pd.DataFrame, peer_pairs: pd.DataFrame, ring_providers: Iterable[str],
                        providers: pd.DataFrame | None = None, *, min_peers: int = MIN_PEERS,
                        peer_places: pd.DataFrame | None = None,
                        ring_places: pd.DataFrame | None = None, index: PeerIndex | None = None) -> dict[str, Any]:
    """The distance the ring's patients travel to its providers, beside what their peers' patients travel.

    Peers of a ring provider are the other providers of its type in its region; when a
    type and region has fewer than ``min_peers`` of them, that provider is compared with
    its type nationally (and the result says so).

    Parameters
    ----------
    ring_lines : DataFrame
        The ring's claim lines.
    peer_pairs : DataFrame
        :func:`patient_pairs` of the window's lines billed by providers of the ring
        providers' types (the ring's own providers are left out here).
    ring_providers : iterable of str
        The ring's member providers.
    providers : DataFrame, optional
        The providers table (coordinates).
    min_peers : int
        Smallest regional peer group.
    peer_places : DataFrame, optional
        :func:`provider_places` of every provider of ``peer_pairs`` (the same for every ring
        compared with these pairs: computed once by the caller); computed here when None.
    ring_places : DataFrame, optional
        :func:`provider_places` of the ring providers' lines, when the caller has it already.
    index : PeerIndex, optional
        ``PeerIndex(peer_pairs, peer_places)``, built once for every ring compared with these
        peers: each ring then reads only its peers' rows (the same result, see :class:`PeerIndex`).

    Returns
    -------
    dict
        ring (:func:`travel` of the ring providers' lines, plus ``patients``), peers
        (:func:`travel` of the peers' pairs), n_peers, groups (list of {type, region,
        n_peers, national}), national (True when any group fell back to the national peers).
    """
    ring_ids = {str(p) for p in ring_providers}
    own = ring_lines[ring_lines["provider_id"].astype(str).isin(ring_ids)] if len(ring_lines) else ring_lines
    if ring_places is None:
        ring_places = provider_places(own, providers)
    if index is not None:
        ring = lines_travel(own, ring_places)
        ring["patients"] = int(own["beneficiary_id"].nunique()) if len(own) else 0
        return {"ring": ring, **index.compare(ring_places, ring_ids, min_peers=min_peers)}
    others = peer_pairs[~peer_pairs["provider_id"].astype(str).isin(ring_ids)] if len(peer_pairs) else peer_pairs
    if peer_places is None:
        peer_places = provider_places(peer_pairs.drop_duplicates("provider_id"), providers)
    peer_places = peer_places[~peer_places["provider_id"].astype(str).isin(ring_ids)].reset_index(drop=True)
    groups, keep = [], []
    for (ptype, region), _ in ring_places.groupby(["provider_type", "region"], dropna=False, sort=True):
        same_type = peer_places[peer_places["provider_type"] == ptype]
        regional = same_type[same_type["region"].astype(str) == str(region)]
        national = len(regional) < min_peers
        chosen = same_type if national else regional
        groups.append({"type": str(ptype), "region": None if pd.isna(region) else str(region),
                       "n_peers": int(len(chosen)), "national": bool(national)})
        keep.append(chosen["provider_id"])
    peer_ids = set(pd.concat(keep)) if keep else set()
    ring = travel(patient_pairs(own), ring_places)
    ring["patients"] = int(own["beneficiary_id"].nunique()) if len(own) else 0
    return {"ring": ring,
            "peers": travel(others[others["provider_id"].isin(peer_ids)],
                            peer_places[peer_places["provider_id"].isin(peer_ids)]),
            "n_peers": len(peer_ids), "groups": groups, "national": any(g["national"] for g in groups)}


class PeerIndex:
    """The peers' patient pairs and places indexed once, so each ring's comparison reads only its peers' rows.

    :meth:`compare` gives what :func:`distance_comparison` gives for ``peers`` and ``groups``
    over the same ``peer_pairs`` and ``peer_places``, without filtering them per ring: the
    pairs are joined to their places and their distances computed once, and each ring takes
    the rows of its peer providers. :func:`travel`'s figures do not depend on the order of
    the rows (a weighted median and sums of whole numbers), so the rows' order may differ.

    Parameters
    ----------
    peer_pairs : DataFrame
        :func:`patient_pairs` of the window's lines of some provider types.
    peer_places : DataFrame
        :func:`provider_places` of every provider of ``peer_pairs``.
    """

    def __init__(self, peer_pairs: pd.DataFrame, peer_places: pd.DataFrame):
        places = peer_places.reset_index(drop=True)
        self.ids = places["provider_id"].astype(str).to_numpy(object)
        regions = places["region"].astype(str).to_numpy(object)
        types = places["provider_type"].astype(object).to_numpy(object)
        self._of_type: dict[Any, list[int]] = {}
        self._of_region: dict[tuple[Any, str], list[int]] = {}
        for p, (ptype, region) in enumerate(zip(types, regions)):
            if ptype is None or (isinstance(ptype, float) and np.isnan(ptype)):
                continue
            self._of_type.setdefault(ptype, []).append(p)
            self._of_region.setdefault((ptype, region), []).append(p)
        at = {pid: p for p, pid in enumerate(self.ids)}
        # The pairs :func:`travel` keeps (a patient region with a seat, a provider with a place), by place.
        pairs = peer_pairs[peer_pairs["beneficiary_region"].isin(REGION_SEATS)] if len(peer_pairs) else peer_pairs
        place = np.array([at.get(str(pid), -1) for pid in pairs["provider_id"]], dtype=np.int64) \
            if len(pairs) else np.zeros(0, dtype=np.int64)
        kept = place >= 0
        order = np.argsort(place[kept], kind="stable")
        place = place[kept][order]
        home = pairs["beneficiary_region"].astype(str).to_numpy(object)[kept][order]
        lat = places["lat"].to_numpy(float)[place]
        lon = places["lon"].to_numpy(float)[place]
        self._km = haversine_km([REGION_SEATS[r][1] for r in home], [REGION_SEATS[r][2] for r in home], lat, lon)
        self._weight = pairs["patients"].to_numpy(float)[kept][order]
        self._far = home != regions[place]
        self._start = np.searchsorted(place, np.arange(len(self.ids) + 1))

    def compare(self, ring_places: pd.DataFrame, ring_ids: set[str], *,
                min_peers: int = MIN_PEERS) -> dict[str, Any]:
        """``peers``, ``n_peers``, ``groups`` and ``national`` of :func:`distance_comparison` for one ring.

        Parameters
        ----------
        ring_places : DataFrame
            :func:`provider_places` of the ring providers' lines.
        ring_ids : set of str
            The ring's providers (never their own peers).
        min_peers : int
            Smallest regional peer group.
        """
        groups, keep = [], []
        for (ptype, region), _ in ring_places.groupby(["provider_type", "region"], dropna=False, sort=True):
            same_type = self._without(self._of_type.get(ptype, []), ring_ids)
            regional = self._without(self._of_region.get((ptype, str(region)), []), ring_ids)
            national = len(regional) < min_peers
            chosen = same_type if national else regional
            groups.append({"type": str(ptype), "region": None if pd.isna(region) else str(region),
                           "n_peers": int(len(chosen)), "national": bool(national)})
            keep.append(chosen)
        chosen = np.unique(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
        return {"peers": self._travel(chosen), "n_peers": len(chosen), "groups": groups,
                "national": any(g["national"] for g in groups)}

    def _without(self, positions: list[int], ring_ids: set[str]) -> np.ndarray:
        positions = np.asarray(positions, dtype=np.int64)
        if not ring_ids or not len(positions):
            return positions
        return positions[[self.ids[p] not in ring_ids for p in positions]]

    def _travel(self, chosen: np.ndarray) -> dict[str, Any]:
        """:func:`travel` of the pairs of the providers at ``chosen`` places."""
        starts, ends = self._start[chosen], self._start[chosen + 1]
        lengths = ends - starts
        if not lengths.sum():
            return {"pairs": 0, "median_km": None, "share_far": None, "providers": 0}
        rows = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        return _weighted_travel(self._km[rows], self._weight[rows], self._far[rows], int((lengths > 0).sum()))


def distance_sentence(comparison: dict[str, Any]) -> str:
    """One sentence with the numbers of :func:`distance_comparison`.

    Parameters
    ----------
    comparison : dict
        :func:`distance_comparison`'s result.
    """
    ring, peers = comparison["ring"], comparison["peers"]
    if not ring["pairs"]:
        return "No distance can be measured: the ring's lines name no patient region or provider place."
    text = (f"The ring's {ring['patients']:,} patients travelled a median {_km(ring['median_km'])} to its "
            f"{ring['providers']} provider{'s' if ring['providers'] != 1 else ''} "
            f"({ring['share_far']:.0%} of patient-provider pairs cross a region).")
    if not peers["pairs"]:
        return text + " No peer provider of the same type has patients in this window to compare with."
    by_scope: dict[tuple[bool, str], list[str]] = {}
    for g in comparison["groups"]:
        by_scope.setdefault((g["national"], g["region"] or ""), []).append(_TYPE_PLURALS.get(g["type"], g["type"].lower()))
    groups = "; ".join(
        (f"{_and(kinds)} nationally, fewer than {MIN_PEERS} of each in {REGIONS.get(region, 'their region')}"
         if national else f"{_and(kinds)} in {REGIONS.get(region, 'their region')}")
        for (national, region), kinds in by_scope.items())
    ratio = (f", so the ring's patients came {ring['median_km'] / peers['median_km']:.1f} times as far"
             if peers["median_km"] and ring["median_km"] and peers["median_km"] >= 1.0 else "")
    return text + (f" Patients of their {comparison['n_peers']:,} peers ({groups}) travelled a median "
                   f"{_km(peers['median_km'])} ({peers['share_far']:.0%} cross a region){ratio}.")


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _km(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} km"


def _weighted_travel(km: np.ndarray, weight: np.ndarray, far: np.ndarray, providers: int) -> dict[str, Any]:
    """:func:`travel`'s figures from its pairs' distances, patients and whether they cross a region."""
    order = np.argsort(km, kind="mergesort")
    cumulative = np.cumsum(weight[order])
    median = float(km[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])
    return {"pairs": int(weight.sum()), "median_km": median,
            "share_far": float((weight * far).sum() / weight.sum()), "providers": int(providers)}
