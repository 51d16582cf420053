"""Features of every provider, doctor and inferred intermediary, for the learned ranker.

They are read from what a detection run already computed (the control indicators'
z-scores against peers, each detector's score, the combined suspicion, ring
memberships, the inferred intermediaries) and from the claims (volumes, the
shared-patient projection's lift, an entity graph's degree and PageRank). Nothing
here reads an outcome: neighbours' outcomes are added by :mod:`detectors.learned`,
which knows which outcomes may be seen without leaking the target.

Every feature has a name and the words that explain it (:data:`FEATURES`), so a
learned score's reasons can be read by an investigator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from detectors.registry import DETECTOR_NAMES

__all__ = ["FEATURES", "EntityFeatures", "entity_features", "entity_key", "ring_groups"]

#: feature -> words an investigator reads ("{v}" is the entity's value)
FEATURES: dict[str, str] = {
    "is_provider": "is a provider",
    "is_doctor": "is a doctor",
    "is_intermediary": "is an inferred intermediary",
    "amount": "claimed {v:,.0f} MAD",
    "n_lines": "{v:,.0f} claim lines",
    "n_patients": "{v:,.0f} patients",
    "n_dossiers": "{v:,.0f} dossiers",
    "amount_per_patient": "{v:,.0f} MAD per patient",
    "lines_per_patient": "{v:.1f} claim lines per patient",
    "n_partners": "works with {v:,.0f} doctors or providers",
    "tadamon_share": "{v:.0%} of its lines are for Tadamon patients",
    "far_share": "{v:.0%} of its lines are for patients from another region",
    "expensive_share": "{v:.0%} of its lines are expensive acts",
    "mean_stay_days": "stays of {v:.1f} days on average",
    "busiest_day_share": "{v:.0%} of its patients came on its busiest day",
    "partner_volume_mean": "its doctors or providers bill {v:,.0f} lines each on average",
    "patient_volume_mean": "its patients have {v:,.0f} claim lines each on average, anywhere",
    "n_act_codes": "{v:,.0f} different acts",
    "mean_age": "patients aged {v:.0f} on average",
    "ald_share": "{v:.0%} of its lines are for patients with an ALD",
    "reimbursed_share": "{v:.0%} of the amount claimed is reimbursed",
    "n_regions": "patients from {v:.0f} regions",
    "active_days": "billed on {v:,.0f} different days",
    "lines_per_day": "{v:.1f} claim lines per day it bills",
    "mean_filing_delay": "filed {v:.1f} days after the service on average",
    "max_stay_days": "longest stay {v:.0f} days",
    "amount_per_line": "{v:,.0f} MAD per claim line",
    "unsupervised_score": "unsupervised suspicion {v:.1f}",
    "n_rings": "member of {v:.0f} ring(s)",
    "best_ring_score": "best ring's score {v:.1f}",
    "ring_amount_at_risk": "its best ring puts {v:,.0f} MAD at risk",
    "shared_degree": "shares patients with {v:,.0f} providers",
    "max_lift": "shares patients with another provider {v:.1f} times more than chance",
    "strong_links": "{v:.0f} providers share at least 3 patients with it at 3x chance",
    "degree": "{v:,.0f} neighbours in the claims graph",
    "pagerank": "PageRank {v:.2f} (1 = average) in the claims graph",
    "n_intermediaries": "{v:.0f} inferred intermediaries bring it patients",
    "intermediary_patient_share": "{v:.0%} of its patients come through inferred intermediaries",
    "intermediary_score": "intermediary score {v:.1f}",
    "n_households": "{v:,.0f} households",
    "n_identifiers": "{v:.0f} shared phones, accounts or referrers",
}

_INDICATOR_WORDS = {
    "visits_per_beneficiary": "dossiers per patient",
    "amount_per_beneficiary": "amount per patient",
    "quantity_per_stay": "units per stay",
    "revenue_growth": "revenue growth",
    "expensive_growth": "growth of surgeries and stays",
    "non_ald_ald_drugs": "ALD drugs for patients without ALD",
    "surgery_without_consultation": "surgeries without prior consultation",
    "far_tadamon_expensive": "expensive acts for far Tadamon patients",
}
for _name, _words in _INDICATOR_WORDS.items():
    FEATURES[f"z_{_name}"] = f"{_words} z={{v:.1f}} against its peers"
for _name in DETECTOR_NAMES:
    FEATURES[f"det_{_name}"] = f"score {{v:.1f}} from the {_name.replace('_', ' ')} detector"

_KINDS = ("PROVIDER", "DOCTOR", "INTERMEDIARY")


@dataclass
class EntityFeatures:
    """Features of one detection run's entities.

    Attributes
    ----------
    table : DataFrame
        Indexed by ``TYPE:id`` keys (:func:`entity_key`), one column per feature;
        NaN where a feature does not apply (a doctor's projection lift) or the
        entity was not scored.
    edges : DataFrame
        ``a, b, weight``: the entity graph (providers sharing patients, doctors
        and the providers they bill through, intermediaries and the providers their
        patients go to), keys as in ``table``.
    """

    table: pd.DataFrame
    edges: pd.DataFrame


def entity_key(entity_type: str | pd.Series, entity_id: str | pd.Series) -> str | pd.Series:
    """The ``TYPE:id`` key of an entity (or of a column of them)."""
    if isinstance(entity_type, pd.Series):
        return entity_type.astype(str) + ":" + pd.Series(entity_id, index=entity_type.index).astype(str)
    return f"{entity_type}:{entity_id}"


def entity_features(claims: pd.DataFrame, result) -> EntityFeatures:
    """Features of every provider, doctor and inferred intermediary of a detection run.

    Parameters
    ----------
    claims : DataFrame
        The claims the run read (claims contract).
    result : DetectionResult
        What :func:`detectors.pipeline.detect` returned for them.

    Returns
    -------
    EntityFeatures
    """
    lines = _lines(claims)
    frames = [_volumes(lines, "provider_id", "doctor_id", "PROVIDER"),
              _volumes(lines, "doctor_id", "provider_id", "DOCTOR")]
    inter = getattr(result, "intermediaries", None)
    inter_edges = _intermediary_edges(lines, inter)
    if inter is not None and len(inter.table):
        frames.append(_intermediary_rows(inter.table, inter_edges))
    table = pd.concat([f for f in frames if len(f)])
    table = table[~table.index.duplicated()]
    for kind in _KINDS:
        table[f"is_{kind.lower()}"] = table.index.str.startswith(kind + ":").astype(float)
    table = table.join(_detector_scores(result.findings), how="left")
    scores = result.entity_scores
    # NaN when unscored: the trees send it down a branch of its own.
    table["unsupervised_score"] = pd.Series(scores["score"].to_numpy(float),
                                            index=entity_key(scores["entity_type"], scores["entity_id"])
                                            ).groupby(level=0).max().reindex(table.index)
    table = table.join(_ring_features(result.rings, result.members), how="left")
    for col in ("n_rings",):
        table[col] = table[col].fillna(0.0)
    table = table.join(_projection_features(claims), how="left")
    table = table.join(_intermediary_links(lines, inter), how="left")
    edges = _entity_edges(lines, claims, inter_edges)
    table = table.join(_graph_features(edges, table.index), how="left")
    for col in (c for c in FEATURES if c not in table.columns):
        table[col] = np.nan
    ordered = [c for c in FEATURES if c in table.columns] + sorted(c for c in table.columns if c not in FEATURES)
    return EntityFeatures(table[ordered].astype(float).sort_index(), edges)


def ring_groups(keys: pd.Index, members: pd.DataFrame) -> pd.Series:
    """A group label per entity: entities of one ring (transitively) share it; others stand alone.

    Cross-validation folds are drawn by these groups, so the members of one ring are
    never split between training and testing.
    """
    parent = {k: k for k in keys}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    if len(members):
        m = members[members["entity_type"].isin(_KINDS)]
        m = m.assign(key=entity_key(m["entity_type"], m["entity_id"]))
        for _, group in m.groupby("ring_id", sort=True):
            ks = [k for k in group["key"] if k in parent]
            for other in ks[1:]:
                a, b = find(ks[0]), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return pd.Series([find(k) for k in keys], index=keys, name="group")


def _lines(claims: pd.DataFrame) -> pd.DataFrame:
    cols = ["claim_id", "beneficiary_id", "provider_id", "doctor_id", "regime", "beneficiary_region",
            "provider_region", "act_family", "act_code", "amount_claimed", "amount_reimbursed", "service_date",
            "submission_date", "stay_days", "birth_year", "ald"]
    lines = claims[[c for c in cols if c in claims.columns]].copy()
    for col in cols:
        if col not in lines:
            lines[col] = np.nan
    for col in ("beneficiary_id", "provider_id", "doctor_id"):
        lines[col] = lines[col].astype(object).where(lines[col].notna(), None)
    lines["tadamon"] = (lines["regime"].astype(object) == "TADAMON").astype(float)
    known = lines["beneficiary_region"].notna() & lines["provider_region"].notna()
    lines["far"] = (known & (lines["beneficiary_region"].astype(object)
                             != lines["provider_region"].astype(object))).astype(float)
    lines["expensive"] = lines["act_family"].astype(object).isin(("SURGERY", "HOSPITAL_STAY")).astype(float)
    lines["amount_claimed"] = lines["amount_claimed"].astype(float)
    lines["amount_reimbursed"] = lines["amount_reimbursed"].astype(float)
    lines["age"] = lines["service_date"].dt.year.astype(float) - lines["birth_year"].astype("Float64").astype(float)
    lines["ald"] = lines["ald"].astype("boolean").astype("Float64").astype(float)
    lines["filing_delay"] = (pd.to_datetime(lines["submission_date"]) - lines["service_date"]).dt.days.astype(float)
    lines["stay_days"] = lines["stay_days"].astype("Float64").astype(float)
    for col in ("provider_id", "doctor_id", "beneficiary_id"):
        lines[f"{col}_volume"] = lines.groupby(col)[col].transform("size").astype(float)
    return lines


def _volumes(lines: pd.DataFrame, by: str, partner: str, kind: str) -> pd.DataFrame:
    df = lines.loc[lines[by].notna()]
    if df.empty:
        return pd.DataFrame()
    g = df.groupby(by, sort=True)
    out = pd.DataFrame({
        "amount": g["amount_claimed"].sum(),
        "n_lines": g.size().astype(float),
        "n_patients": g["beneficiary_id"].nunique().astype(float),
        "n_dossiers": g["claim_id"].nunique().astype(float),
        "n_partners": g[partner].nunique().astype(float),
        "tadamon_share": g["tadamon"].mean(),
        "far_share": g["far"].mean(),
        "expensive_share": g["expensive"].mean(),
        "mean_stay_days": g["stay_days"].mean(),
        "partner_volume_mean": g[f"{partner}_volume"].mean(),
        "patient_volume_mean": g["beneficiary_id_volume"].mean(),
        "n_act_codes": g["act_code"].nunique().astype(float),
        "mean_age": g["age"].mean(),
        "ald_share": g["ald"].mean(),
        "reimbursed_share": g["amount_reimbursed"].sum() / g["amount_claimed"].sum().clip(lower=1e-9),
        "n_regions": g["beneficiary_region"].nunique().astype(float),
        "active_days": g["service_date"].nunique().astype(float),
        "mean_filing_delay": g["filing_delay"].mean(),
        "max_stay_days": g["stay_days"].max(),
        "amount_per_line": g["amount_claimed"].mean(),
    })
    out["lines_per_day"] = out["n_lines"] / out["active_days"].clip(lower=1)
    out["amount_per_patient"] = out["amount"] / out["n_patients"].clip(lower=1)
    out["lines_per_patient"] = out["n_lines"] / out["n_patients"].clip(lower=1)
    day = df.groupby([by, "service_date"], sort=False)["beneficiary_id"].nunique()
    out["busiest_day_share"] = day.groupby(level=0).max().reindex(out.index) / out["n_patients"].clip(lower=1)
    out.index = kind + ":" + out.index.astype(str)
    return out


def _intermediary_edges(lines: pd.DataFrame, inter) -> pd.DataFrame:
    """intermediary key, provider key, patients: where each intermediary's people were treated."""
    if inter is None or inter.members.empty:
        return pd.DataFrame(columns=["a", "b", "weight"])
    m = inter.members[["intermediary_id", "beneficiary_id"]].drop_duplicates()
    visits = lines.loc[lines["provider_id"].notna(), ["beneficiary_id", "provider_id"]].drop_duplicates()
    pairs = m.merge(visits, on="beneficiary_id")
    w = pairs.groupby(["intermediary_id", "provider_id"], sort=True).size().rename("weight").reset_index()
    return pd.DataFrame({"a": "INTERMEDIARY:" + w["intermediary_id"].astype(str),
                         "b": "PROVIDER:" + w["provider_id"].astype(str), "weight": w["weight"].astype(float)})


def _intermediary_rows(table: pd.DataFrame, inter_edges: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "amount": table["amount"].astype(float).to_numpy(),
        "n_patients": table["n_beneficiaries"].astype(float).to_numpy(),
        "n_households": table["n_households"].astype(float).to_numpy(),
        "n_identifiers": table["n_identifiers"].astype(float).to_numpy(),
        "intermediary_score": table["score"].astype(float).to_numpy(),
    }, index="INTERMEDIARY:" + table["intermediary_id"].astype(str))
    out["n_partners"] = inter_edges.groupby("a").size().reindex(out.index).fillna(0.0).astype(float)
    return out


def _detector_scores(findings) -> pd.DataFrame:
    """One ``det_<detector>`` column per detector, and the indicators' peer z-scores."""
    cols = {}
    for f in findings:
        s = f.scores
        if s.empty:
            continue
        keys = entity_key(s["entity_type"], s["entity_id"])
        cols[f"det_{f.detector}"] = pd.Series(s["score"].to_numpy(float), index=keys).groupby(level=0).max()
        for z in (c for c in s.columns if c.startswith("z_")):
            cols[z] = pd.Series(s[z].to_numpy(float), index=keys).groupby(level=0).max()
    return pd.DataFrame(cols)


def _ring_features(rings: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    if members.empty:
        return pd.DataFrame(columns=["n_rings", "best_ring_score", "ring_amount_at_risk"], dtype=float)
    m = members[members["entity_type"].isin(_KINDS)].merge(
        rings[["ring_id", "score", "amount_at_risk"]].rename(columns={"score": "ring_score"}), on="ring_id")
    m = m.assign(key=entity_key(m["entity_type"], m["entity_id"])).sort_values(
        ["ring_score", "ring_id"], ascending=[False, True], kind="mergesort")
    g = m.groupby("key", sort=True)
    best = m.drop_duplicates("key").set_index("key")
    return pd.DataFrame({"n_rings": g["ring_id"].nunique().astype(float),
                         "best_ring_score": best["ring_score"].astype(float),
                         "ring_amount_at_risk": best["amount_at_risk"].astype(float)})


def _projection_features(claims: pd.DataFrame) -> pd.DataFrame:
    from graph.projections import provider_projection

    p = provider_projection(claims)
    if p.empty:
        return pd.DataFrame(columns=["shared_degree", "max_lift", "strong_links"], dtype=float)
    both = pd.concat([p[["provider_a", "shared_patients", "lift"]].rename(columns={"provider_a": "id"}),
                      p[["provider_b", "shared_patients", "lift"]].rename(columns={"provider_b": "id"})])
    strong = (both["lift"] >= 3) & (both["shared_patients"] >= 3)
    g = both.groupby("id", sort=True)
    out = pd.DataFrame({"shared_degree": g.size().astype(float), "max_lift": g["lift"].max().astype(float),
                        "strong_links": strong.groupby(both["id"]).sum().astype(float)})
    out.index = "PROVIDER:" + out.index.astype(str)
    return out


def _intermediary_links(lines: pd.DataFrame, inter) -> pd.DataFrame:
    if inter is None or inter.members.empty:
        return pd.DataFrame(columns=["n_intermediaries", "intermediary_patient_share"], dtype=float)
    recruited = inter.members[["intermediary_id", "beneficiary_id"]].drop_duplicates()
    frames = []
    for by, kind in (("provider_id", "PROVIDER"), ("doctor_id", "DOCTOR")):
        pairs = lines.loc[lines[by].notna(), [by, "beneficiary_id"]].drop_duplicates()
        n_patients = pairs.groupby(by).size()
        hit = pairs.merge(recruited, on="beneficiary_id")
        out = pd.DataFrame({
            "n_intermediaries": hit.groupby(by)["intermediary_id"].nunique().reindex(n_patients.index).fillna(0),
            "intermediary_patient_share": (hit.groupby(by)["beneficiary_id"].nunique()
                                           .reindex(n_patients.index).fillna(0) / n_patients),
        }).astype(float)
        out.index = kind + ":" + out.index.astype(str)
        frames.append(out)
    return pd.concat(frames)


def _entity_edges(lines: pd.DataFrame, claims: pd.DataFrame, inter_edges: pd.DataFrame) -> pd.DataFrame:
    from graph.projections import provider_projection

    p = provider_projection(claims)
    pp = pd.DataFrame({"a": "PROVIDER:" + p["provider_a"].astype(str), "b": "PROVIDER:" + p["provider_b"].astype(str),
                       "weight": p["shared_patients"].astype(float)})
    dp = lines.loc[lines["doctor_id"].notna() & lines["provider_id"].notna()].groupby(
        ["doctor_id", "provider_id"], sort=True).size().rename("weight").reset_index()
    dp = pd.DataFrame({"a": "DOCTOR:" + dp["doctor_id"].astype(str), "b": "PROVIDER:" + dp["provider_id"].astype(str),
                       "weight": dp["weight"].astype(float)})
    edges = pd.concat([pp, dp, inter_edges], ignore_index=True)
    return edges[edges["a"] != edges["b"]].reset_index(drop=True)


def _graph_features(edges: pd.DataFrame, keys: pd.Index, *, damping: float = 0.85,
                    iterations: int = 100) -> pd.DataFrame:
    """Degree and weighted PageRank (scaled so that the average node has 1) in the entity graph."""
    nodes = pd.Index(sorted(set(keys) | set(edges["a"]) | set(edges["b"])))
    n = len(nodes)
    if n == 0 or edges.empty:
        return pd.DataFrame({"degree": 0.0, "pagerank": 1.0}, index=keys)
    a, b = nodes.get_indexer(edges["a"]), nodes.get_indexer(edges["b"])
    w = edges["weight"].to_numpy(float)
    W = sparse.csr_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    out_w = np.asarray(W.sum(axis=1)).ravel()
    degree = np.diff((W > 0).astype(np.int8).tocsr().indptr).astype(float)
    inv = np.divide(1.0, out_w, out=np.zeros(n), where=out_w > 0)
    P = sparse.diags(inv) @ W
    rank = np.full(n, 1.0 / n)
    dangling = out_w == 0
    for _ in range(iterations):
        new = damping * (P.T @ rank + rank[dangling].sum() / n) + (1 - damping) / n
        if np.abs(new - rank).sum() < 1e-10:
            rank = new
            break
        rank = new
    frame = pd.DataFrame({"degree": degree, "pagerank": rank * n}, index=nodes)
    return frame.reindex(keys)
