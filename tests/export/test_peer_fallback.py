"""The report's peer comparison is never empty: national peers of the same type, said so."""

from __future__ import annotations

import zipfile

import pandas as pd

from export.evidence import main_provider_peers, provider_indicators
from tests.conftest import _line, make_tiny_claims


def _members(*providers: str) -> pd.DataFrame:
    return pd.DataFrame([{"entity_type": "PROVIDER", "entity_id": p} for p in providers])


def _with_new_clinic(claims: pd.DataFrame, n: int) -> pd.DataFrame:
    rows = [_line(f"CLM-NEW-{k}", 1, f"BEN-N{k}", f"BEN-N{k}", "TADAMON", "08", "PRV-CLINIC-NEW", "CLINIC", "06",
                  "DOC-R", "K50", "SURGERY", 6000.0, "2025-03-12") for k in range(n)]
    new = pd.DataFrame(rows).astype(claims.dtypes.to_dict())
    return pd.concat([claims, new], ignore_index=True)


def test_clinic_compared_with_everyone_also_gets_its_national_clinic_peers():
    claims = make_tiny_claims()
    out = provider_indicators(claims, _members("PRV-CLINIC-R"))
    groups = set(out["peer_group"])
    fallback = out[out["peer_group"].str.contains("fallback")]
    assert "everyone" in groups  # the detector's own comparison stays
    assert set(fallback["peer_group"]) == {"CLINIC, national peers (fallback: the detector compared it with every "
                                           "provider)"}
    assert set(fallback["n_peers"]) == {2} and fallback["z"].isna().all()
    other = claims[claims["provider_id"] == "PRV-CLINIC-A"]
    visits = other.groupby("beneficiary_id")["claim_id"].nunique().mean()
    row = fallback[fallback["indicator"] == "visits_per_beneficiary"].iloc[0]
    assert row["peer_median"] == visits


def test_clinic_with_too_few_lines_is_still_compared():
    claims = _with_new_clinic(make_tiny_claims(), 2)
    out = provider_indicators(claims, _members("PRV-CLINIC-NEW"))
    assert len(out) and set(out["peer_group"]) == {
        "CLINIC, national peers (fallback: 2 lines, too few for the detector to score it)"}
    assert set(out["n_peers"]) == {3}  # itself, PRV-CLINIC-A and PRV-CLINIC-R
    lines = claims[claims["provider_id"] == "PRV-CLINIC-NEW"]
    assert main_provider_peers(lines, _members("PRV-CLINIC-NEW"), out) == (
        "The ring's main clinic (12,000 MAD in the ring's lines) is compared with 2 other clinics: CLINIC, national "
        "peers (fallback: 2 lines, too few for the detector to score it).")


def test_a_clinic_alone_of_its_type_says_so_rather_than_zero_peers():
    claims = make_tiny_claims()
    claims = claims[claims["provider_id"] != "PRV-CLINIC-A"]
    out = provider_indicators(claims, _members("PRV-CLINIC-R"))
    fallback = out[~out["peer_group"].eq("everyone")]
    assert set(fallback["peer_group"]) == {
        "CLINIC: no other clinic with 5+ lines in the window (the detector compared it with every provider)"}
    note = main_provider_peers(claims[claims["provider_id"] == "PRV-CLINIC-R"], _members("PRV-CLINIC-R", "PRV-LAB-R"),
                               out)
    assert note.startswith("The ring's main clinic (48,000 MAD in the ring's lines) has no peer: CLINIC: no other")
    assert "0 " not in note.replace("48,000", "")


def test_report_names_the_main_providers_peers(ring_bundle):
    with zipfile.ZipFile(ring_bundle) as zf:
        html = zf.read("data/report.html").decode("utf-8")
    assert "The ring&#x27;s main clinic" in html or "The ring's main clinic" in html
    assert "compared with 0" not in html and "0 peers" not in html
