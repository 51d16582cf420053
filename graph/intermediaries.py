"""Inferred intermediaries: entity resolution over what unrelated households share.

A recruiter ("rabatteur") rarely appears in the claims. What shows is that
households with no family tie write the same phone, the same payee account,
the same referrer, or file at the same small submission point. Each identifier
is weighted by its rarity (an idf over households, zero above a popularity cap),
so a big proximity point used by thousands of households links nobody and a
family phone links nothing because it stays inside one household. Two strong
identifiers belong together when at least two households wrote both (a
recruiter rotating phones and accounts still writes them next to each other and
to his submission point), so one household recruited twice does not merge two
recruiters. A group whose households go to separate clinics in separate cohorts,
joined only by a few households, is split along destination: a recruiter takes his
people to one clinic. A household then joins the group it shares most with. Each group
with enough households is one intermediary, whose id is a hash of its sorted
identifiers: the same data gives the same groups and the same ids, whatever
the row order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from graph.build import IDENTIFIER_COLUMNS, household_of, identifier_mask

__all__ = ["Intermediaries", "infer_intermediaries", "intermediary_id"]

_NOUNS = {"PHONE": "phone", "ACCOUNT": "payee account", "SUBMISSION_POINT": "submission point",
          "REFERRER": "referrer"}
# Where a recruiter takes his people: the facility that operates or keeps them.
_FACILITIES = ("CLINIC", "HOSPITAL")
_STAYS = ("SURGERY", "HOSPITAL_STAY")


@dataclass
class Intermediaries:
    """The intermediaries found, as three tables.

    Attributes
    ----------
    table : DataFrame
        ``intermediary_id, n_households, n_beneficiaries, n_identifiers, score,
        amount, top_provider_id, evidence``; best score first.
    links : DataFrame
        ``intermediary_id, identifier_type, identifier, weight, n_households``: the
        identifiers that tie its households together and their rarity weight.
    members : DataFrame
        ``intermediary_id, household_id, beneficiary_id``: the beneficiaries whose
        dossiers carry one of its identifiers.
    params : dict
        The parameters used.
    """

    table: pd.DataFrame
    links: pd.DataFrame
    members: pd.DataFrame
    params: dict


def intermediary_id(identifiers: list[tuple[str, str]]) -> str:
    """The stable id of an intermediary from its (identifier_type, identifier) pairs.

    Parameters
    ----------
    identifiers : list of (str, str)
        (identifier_type, identifier) pairs, in any order.
    """
    text = "\n".join(f"{t}:{i}" for t, i in sorted(identifiers))
    return "INT-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12].upper()


def infer_intermediaries(
    claims: pd.DataFrame,
    *,
    min_households: int = 3,
    max_households: int = 60,
    max_point_households: int = 25,
    types: tuple[str, ...] = ("PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT"),
    min_score: float = 0.0,
    require_contact: bool = True,
    min_shared: int = 2,
    min_overlap: float = 0.25,
    split_destinations: bool = True,
) -> Intermediaries:
    """Group unrelated households linked by rare shared identifiers into intermediaries.

    Parameters
    ----------
    claims : DataFrame
        Claims with the contract's columns.
    min_households : int
        Fewest distinct households an identifier must join to count as a link, and
        fewest households an intermediary must have.
    max_households : int
        Popularity cap: a phone, account or referrer used by more households is a
        public number (a pharmacy, an association) and links nothing.
    max_point_households : int
        Cap for submission points: only a small point says anything; agencies and
        big proximity points serve whole towns.
    types : tuple of str
        Identifier types to use, among PHONE, ACCOUNT, REFERRER, SUBMISSION_POINT.
    min_score : float
        Intermediaries scoring below are dropped.
    require_contact : bool
        Keep only groups tied by at least one phone, account or referrer: households
        that merely file at the same small office are neighbours, not recruits.
    min_shared : int
        Fewest households that must write two identifiers for them to belong to one
        intermediary; 2 keeps a single doubly-recruited household from merging two.
    min_overlap : float
        And the share of the less used identifier's households they must make: two
        recruiters of one region who happen to share a couple of households among
        dozens stay apart, while a rotated phone meets its recruiter's point or
        account on a good part of its few households.
    split_destinations : bool
        Split a group whose households form separate destination cohorts: at least two
        facilities each receiving ``min_households`` households that go nowhere else among
        them, bridged by at most ``min_overlap`` times the smaller cohort. A recruiter takes
        his people to one clinic; two recruiters tied by a few households recruited by both
        take theirs to two.

    Returns
    -------
    Intermediaries
        Deterministic: same claims (in any row order) give the same tables.
    """
    params = {"min_households": min_households, "max_households": max_households,
              "max_point_households": max_point_households, "types": list(types), "min_score": min_score,
              "require_contact": require_contact, "min_shared": min_shared,
              "min_overlap": min_overlap, "split_destinations": split_destinations}
    # Arrow-backed text (pandas' str), not object arrays: no Python string per line of the window.
    beneficiaries = claims["beneficiary_id"].astype(str).array
    hh_codes, hh_uniques = pd.factorize(household_of(claims).astype(str), sort=True)
    n_hh = max(len(hh_uniques), 2)
    strong = _observations(claims, types, hh_codes, beneficiaries, min_households=min_households,
                           max_households=max_households, max_point_households=max_point_households)
    if not len(strong):
        return _empty(params)
    strong = strong.assign(component=_group_identifiers(strong, n_hh, min_shared, min_overlap))
    if split_destinations:
        strong = strong.assign(component=_split_by_destination(claims, strong, min_households, min_overlap))
    # A household whose dossiers carry identifiers of two groups (recruited twice, or a
    # neighbour's phone) joins the group it shares most with, ties to the smaller group label.
    weights = _rarity(strong, n_hh)
    support = (strong.assign(w=weights).drop_duplicates(["key", "hh"])
               .groupby(["hh", "component"], as_index=False)["w"].sum()
               .sort_values(["hh", "w", "component"], ascending=[True, False, True], kind="stable")
               .drop_duplicates("hh"))
    home = pd.Series(support["component"].to_numpy(), index=support["hh"].to_numpy())
    strong = strong[strong["component"].to_numpy() == home.reindex(strong["hh"].to_numpy()).to_numpy()]
    groups = strong.groupby("component")
    n_households = groups["hh"].nunique()
    kept = n_households[n_households >= min_households].index
    if require_contact:
        contact = groups["identifier_type"].agg(lambda t: bool((t != "SUBMISSION_POINT").any()))
        kept = kept[contact.loc[kept].to_numpy(dtype=bool)]
    strong = strong[strong["component"].isin(kept)]
    if not len(strong):
        return _empty(params)
    strong = strong.assign(weight=np.round(_rarity(strong, n_hh), 6))
    ids = {
        comp: intermediary_id(list(zip(g["identifier_type"], g["identifier"])))
        for comp, g in strong[["component", "identifier_type", "identifier"]].drop_duplicates().groupby("component")
    }
    strong = strong.assign(intermediary_id=strong["component"].map(ids))
    links = (strong.drop_duplicates(["intermediary_id", "key"])
             [["intermediary_id", "identifier_type", "identifier", "weight", "n_households"]]
             .sort_values(["intermediary_id", "identifier_type", "identifier"], ignore_index=True))
    members = (strong.assign(household_id=hh_uniques[strong["hh"].to_numpy()])
               [["intermediary_id", "household_id", "beneficiary_id"]]
               .drop_duplicates().sort_values(["intermediary_id", "household_id", "beneficiary_id"],
                                              ignore_index=True))
    table = _describe(claims, strong, links, members)
    table = table[table["score"] >= min_score]
    keep_ids = set(table["intermediary_id"])
    return Intermediaries(
        table=table.reset_index(drop=True),
        links=links[links["intermediary_id"].isin(keep_ids)].reset_index(drop=True),
        members=members[members["intermediary_id"].isin(keep_ids)].reset_index(drop=True),
        params=params,
    )


def _rarity(observations: pd.DataFrame, n_hh: int) -> np.ndarray:
    """idf over households, halved for submission points: filing at the same small office
    is weaker evidence of a common recruiter than writing the same phone or account."""
    weights = np.log(n_hh / observations["n_households"].to_numpy()) / np.log(n_hh)
    return weights * np.where(observations["identifier_type"].eq("SUBMISSION_POINT"), 0.5, 1.0)


def _group_identifiers(strong: pd.DataFrame, n_hh: int, min_shared: int, min_overlap: float) -> np.ndarray:
    """Component label of each row's identifier in the identifier co-occurrence graph.

    Two identifiers are tied when at least ``min_shared`` households wrote both: a
    recruiter's rotated phones, accounts and point keep meeting on his households' dossiers,
    while one household recruited by two people (or borrowing a neighbour's phone) is a
    single shared household and does not merge two recruiters. Labels follow the sorted
    identifiers, so they do not depend on row order.
    """
    keys, key_codes = np.unique(strong["key"].to_numpy(), return_inverse=True)
    pairs = pd.DataFrame({"k": key_codes, "hh": strong["hh"].to_numpy()}).drop_duplicates()
    incidence = csr_matrix((np.ones(len(pairs)), (pairs["k"].to_numpy(), pairs["hh"].to_numpy())),
                           shape=(len(keys), n_hh))
    shared = (incidence @ incidence.T).tocoo()
    sizes = np.asarray(incidence.sum(axis=1)).ravel()
    smaller = np.minimum(sizes[shared.row], sizes[shared.col])
    tied = (shared.data >= min_shared) & (shared.data >= min_overlap * smaller)
    adjacency = coo_matrix((np.ones(int(tied.sum())), (shared.row[tied], shared.col[tied])),
                           shape=(len(keys), len(keys)))
    _, component = connected_components(adjacency, directed=False)
    return component[key_codes]


def _split_by_destination(claims: pd.DataFrame, strong: pd.DataFrame, min_households: int,
                          min_overlap: float) -> np.ndarray:
    """Component labels refined so that separate destination cohorts of one group part.

    A household's destinations in a group are the clinics and hospitals (and the
    providers of surgery or stay lines) on the dossiers carrying the group's identifiers.
    A cohort is the households of a group whose only destination is one facility; a group
    with two or more cohorts of ``min_households``, and few households reaching several of
    them, is two recruiters tied by the households both brought. Each identifier then goes
    to the cohort holding most of its households (ties to the smaller provider id), or to a
    remainder when it reaches none; the labels follow sorted (component, provider) pairs.
    """
    component = strong["component"].to_numpy()
    # Only the columns read (whole rows would copy every text column of the lines).
    picked = claims[[c for c in ("provider_id", "provider_type", "act_family") if c in claims]].iloc[
        strong["line"].to_numpy()]
    destination = np.zeros(len(picked), dtype=bool)
    # both columns are required by the contract; a partial frame simply shows no destination
    for column, values in (("provider_type", _FACILITIES), ("act_family", _STAYS)):
        if column in picked:
            destination |= picked[column].isin(values).fillna(False).to_numpy(dtype=bool)
    trips = pd.DataFrame({"component": component[destination], "hh": strong["hh"].to_numpy()[destination],
                          "provider": picked["provider_id"].astype(str).to_numpy()[destination]}
                         ).drop_duplicates()
    reach = trips.groupby(["component", "hh"])["provider"].transform("nunique")
    single = trips[reach.to_numpy() == 1]
    sizes = single.groupby(["component", "provider"])["hh"].nunique()
    sizes = sizes[sizes >= min_households]
    n_cohorts = sizes.groupby(level="component").size()
    split = n_cohorts[n_cohorts >= 2].index
    if not len(split):
        return component
    cohort_trips = trips.join(sizes.rename("size"), on=["component", "provider"], how="inner")
    bridges = (cohort_trips.groupby(["component", "hh"])["provider"].nunique() > 1).groupby(level="component").sum()
    smallest = sizes.groupby(level="component").min()
    few = bridges.reindex(split, fill_value=0) <= min_overlap * smallest.reindex(split)
    split = split[few.to_numpy(dtype=bool)]
    if not len(split):
        return component
    cohort_of = single[single.set_index(["component", "provider"]).index.isin(sizes.index)
                       & single["component"].isin(split).to_numpy()]
    held = (strong.loc[strong["component"].isin(split), ["key", "component", "hh"]].drop_duplicates()
            .merge(cohort_of, on=["component", "hh"]))
    votes = (held.groupby(["key", "provider"], as_index=False)["hh"].nunique()
             .sort_values(["key", "hh", "provider"], ascending=[True, False, True], kind="stable")
             .drop_duplicates("key"))
    provider = pd.Series(votes["provider"].to_numpy(), index=votes["key"].to_numpy())
    part = np.where(np.isin(component, split.to_numpy()),
                    provider.reindex(strong["key"].to_numpy()).fillna("").to_numpy(dtype=object), "")
    labels = pd.MultiIndex.from_arrays([component, part.astype(str)])
    codes, _ = pd.factorize(labels, sort=True)
    return codes


def _observations(claims: pd.DataFrame, types: tuple[str, ...], hh_codes: np.ndarray,
                  beneficiaries: np.ndarray, *, min_households: int, max_households: int,
                  max_point_households: int) -> pd.DataFrame:
    """(identifier, household, beneficiary) rows with the claim lines that carry them, for the identifiers
    written by ``min_households`` to the cap of households (``n_households``): the only ones that link.

    Households are counted per identifier on integer codes before any row is built, so the rows of the
    identifiers that link nobody (most phones and accounts: one household each) are never made; the rows
    kept, their order and their index are those of all rows of every type concatenated, then filtered.
    """
    frames = []
    offset = 0
    for node_type in types:
        column = IDENTIFIER_COLUMNS[node_type][0]
        mask = identifier_mask(claims, node_type)
        if not mask.any():
            continue
        lines = np.flatnonzero(mask)
        values = claims[column].iloc[lines].astype(str).reset_index(drop=True)
        hh = hh_codes[mask]
        n_households = _households_per_value(values, hh)
        cap = max_point_households if node_type == "SUBMISSION_POINT" else max_households
        keep = np.flatnonzero((n_households >= min_households) & (n_households <= cap))
        values = values.iloc[keep].reset_index(drop=True)
        # Arrow strings throughout: the key is concatenated by Arrow, not one Python string per line.
        frames.append(pd.DataFrame({
            "identifier_type": node_type,
            "identifier": values.array,
            "key": (node_type + ":" + values).array,
            "hh": hh[keep],
            "beneficiary_id": beneficiaries[lines[keep]],
            "line": lines[keep],
            "n_households": n_households[keep],
        }, index=offset + keep))
        offset += len(lines)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames)


def _households_per_value(values: pd.Series, hh: np.ndarray) -> np.ndarray:
    """Per row, the distinct households (``hh`` codes) writing the row's value."""
    codes = pd.factorize(values)[0].astype(np.int64)
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    width = int(hh.max()) + 1
    # pandas' hash table: numpy 2.4's unique of millions of int64 took 4 s per million (its hash path)
    pairs = pd.unique(codes * width + hh.astype(np.int64))
    return np.bincount(pairs // width, minlength=int(codes.max()) + 1)[codes].astype(np.int64)


def _describe(claims: pd.DataFrame, strong: pd.DataFrame, links: pd.DataFrame,
              members: pd.DataFrame) -> pd.DataFrame:
    """One row per intermediary: counts, score, amount and a one-sentence evidence."""
    lines = strong[["intermediary_id", "line", "hh"]].drop_duplicates(["intermediary_id", "line"])
    # Only the three columns read: taking whole rows would copy every text column of the window's lines.
    picked = claims[["provider_id", "amount_claimed", "regime"]].iloc[lines["line"].to_numpy()]
    lines = lines.assign(
        provider_id=picked["provider_id"].astype(str).to_numpy(),
        amount=picked["amount_claimed"].to_numpy(dtype=float, na_value=0.0),
        tadamon=picked["regime"].eq("TADAMON").fillna(False).to_numpy(dtype=bool),
    )
    links_of = dict(tuple(links.groupby("intermediary_id", sort=False)))
    members_of = dict(tuple(members.groupby("intermediary_id", sort=False)))
    rows = []
    for inter, group in lines.groupby("intermediary_id", sort=True):
        link, member = links_of[inter], members_of[inter]
        n_households = member["household_id"].nunique()
        tadamon_hh = group.loc[group["tadamon"], "hh"].nunique()
        # ties between providers broken by id, so the evidence names the same one every time
        by_provider = group.groupby("provider_id")["amount"].sum().sort_index().sort_values(
            ascending=False, kind="stable")
        top = by_provider.index[0]
        amount = float(group["amount"].sum())
        share = by_provider.iloc[0] / amount if amount > 0 else 0.0
        score = float(link["weight"].sum()) * float(np.log2(n_households))
        rows.append({
            "intermediary_id": inter,
            "n_households": int(n_households),
            "n_beneficiaries": int(member["beneficiary_id"].nunique()),
            "n_identifiers": int(len(link)),
            "score": round(score, 4),
            "amount": round(amount, 2),
            "top_provider_id": top,
            "evidence": _evidence(n_households, link, tadamon_hh, len(by_provider), top, share, amount),
        })
    table = pd.DataFrame(rows)
    return table.sort_values(["score", "intermediary_id"], ascending=[False, True], ignore_index=True)


def _evidence(n_households: int, link: pd.DataFrame, tadamon_hh: int, n_providers: int,
              top: str, share: float, amount: float) -> str:
    counts = link["identifier_type"].value_counts()
    parts = []
    for node_type in ("PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT"):
        n = int(counts.get(node_type, 0))
        if n:
            noun = _NOUNS[node_type]
            parts.append(f"{n} {noun}" + ("s" if n > 1 else ""))
    shared = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    rarest = int(link["n_households"].min())
    sent = (f"all sent to 1 provider ({top})" if n_providers == 1
            else f"sent to {n_providers} providers, {share:.0%} of the amount to {top}")
    return (f"{n_households} unrelated households share {shared} (the rarest used by {rarest} households); "
            f"{tadamon_hh} of them Tadamon, {sent}; {amount:,.2f} MAD claimed on these dossiers.")


def _empty(params: dict) -> Intermediaries:
    return Intermediaries(
        table=pd.DataFrame(columns=["intermediary_id", "n_households", "n_beneficiaries", "n_identifiers",
                                    "score", "amount", "top_provider_id", "evidence"]),
        links=pd.DataFrame(columns=["intermediary_id", "identifier_type", "identifier", "weight", "n_households"]),
        members=pd.DataFrame(columns=["intermediary_id", "household_id", "beneficiary_id"]),
        params=params,
    )
