"""Pseudonymised bundles: no raw personal identifier anywhere, the same pseudonym everywhere."""

from __future__ import annotations

import io
import stat
import zipfile

import pandas as pd

from export import export_ring, reproduce_bundle, verify_bundle
from export.pseudonym import Pseudonymiser, load_pseudonym_key


def test_no_raw_personal_identifier_in_any_file(export_home, ring_bundle, tiny_claims, planted_ring, tmp_path):
    out = export_ring(export_home.settings, export_home.ring_id, tmp_path / "p.zip", pseudonymise=True)
    raw = set(tiny_claims["beneficiary_id"]) | set(tiny_claims["household_id"].dropna())
    raw |= {planted_ring["phone"], planted_ring["account"]}
    with zipfile.ZipFile(ring_bundle) as zf:
        raw |= set(pd.read_csv(io.BytesIO(zf.read("data/members.csv")), dtype=str)
                   .query("entity_type == 'INTERMEDIARY'")["entity_id"])
    with zipfile.ZipFile(out) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    for name, data in files.items():
        text = data.decode("latin-1")  # also scans PDF bytes (fonts subset, text is hex-encoded glyph ids)
        for value in raw:
            assert value not in text, f"{value} in {name}"
    assert verify_bundle(out).ok
    pseudonymiser = Pseudonymiser(load_pseudonym_key(export_home.settings))
    expected = {pseudonymiser.pseudonym(b, "BEN") for b in planted_ring["beneficiaries"]}
    claims = pd.read_csv(io.BytesIO(files["data/claims.csv"]), dtype=str)
    members = pd.read_csv(io.BytesIO(files["data/members.csv"]), dtype=str)
    assert set(claims["beneficiary_id"]) == expected
    assert set(members.loc[members["entity_type"] == "BENEFICIARY", "entity_id"]) == expected
    graphml = files["data/graph/ring.graphml"].decode()
    html = files["data/report.html"].decode()
    for pseudonym in expected:
        assert f"BENEFICIARY:{pseudonym}" in graphml
        assert pseudonym in html


def test_key_file_is_created_private_and_reused(settings):
    first = load_pseudonym_key(settings)
    path = settings.home_path / "keys" / "pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_pseudonym_key(settings) == first
    assert Pseudonymiser(first).pseudonym("BEN-1", "BEN") == Pseudonymiser(first).pseudonym("BEN-1", "BEN")
    assert Pseudonymiser(b"other").pseudonym("BEN-1", "BEN") != Pseudonymiser(first).pseudonym("BEN-1", "BEN")


def test_configured_key_wins_over_the_key_file(settings):
    keyed = settings.replace(pseudonym_key="fund-secret")
    assert load_pseudonym_key(keyed) == b"fund-secret"
    assert not (settings.home_path / "keys" / "pseudonym.key").exists()


def test_evidence_text_is_pseudonymised_without_touching_longer_ids():
    p = Pseudonymiser(b"k")
    one, ten = p.pseudonym("BEN-1", "BEN"), p.pseudonym("BEN-10", "BEN")
    assert p.text("shares a phone with BEN-1 and BEN-10; BEN-100 unknown") == (
        f"shares a phone with {one} and {ten}; BEN-100 unknown")


def test_pseudonymised_bundle_reproduces_with_the_funds_key(export_home, tmp_path):
    out = export_ring(export_home.settings, export_home.ring_id, tmp_path / "p.zip", pseudonymise=True)
    result = reproduce_bundle(out, export_home.settings)
    assert result.same, result.lines()
