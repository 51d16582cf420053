"""``reproduce_bundle`` and ``shabaka reproduce``: same members from the recorded batches, or the differences."""

from __future__ import annotations

import json
import zipfile

import pytest
from click.testing import CliRunner

from shabaka.cli import cli
from ground.errors import NotFound
from export import reproduce_bundle, verify_bundle
from tests.export.conftest import forge_bundle


def test_untouched_export_reproduces_from_the_cli(export_home, tmp_path):
    runner = CliRunner()
    home = ["--home", str(export_home.settings.home_path)]
    out = tmp_path / "ring.zip"
    done = runner.invoke(cli, [*home, "export", export_home.ring_id, "--out", str(out), "--run", export_home.run_id])
    assert done.exit_code == 0, done.output
    again = runner.invoke(cli, [*home, "reproduce", str(out)])
    assert again.exit_code == 0, again.output
    assert again.output.startswith("same:")


def test_different_members_are_listed(export_home, ring_bundle, tmp_path):
    """A forger who swaps a member in both members.csv and run.json (and re-signs) is caught by the re-run."""
    out = ring_bundle

    def edit(files):
        prov = json.loads(files["data/run.json"])
        prov["members"] = prov["members"][1:] + [{"entity_type": "PROVIDER", "entity_id": "PRV-GHOST", "role": "x"}]
        files["data/run.json"] = json.dumps(prov).encode()
        header, first, *rest = files["data/members.csv"].decode().splitlines(keepends=True)
        ghost = f"{prov['ring']['ring_id']},PROVIDER,PRV-GHOST,x,1.0,planted\n"
        files["data/members.csv"] = "".join([header, *rest, ghost]).encode()

    dropped = json.loads(zipfile.ZipFile(out).read("data/run.json"))["members"][0]
    result = reproduce_bundle(forge_bundle(out, tmp_path / "edited.zip", edit), export_home.settings)
    assert not result.same and not result.notes
    assert result.missing_members == ["PROVIDER:PRV-GHOST"]
    assert result.extra_members == [f"{dropped['entity_type']}:{dropped['entity_id']}"]
    done = CliRunner().invoke(cli, ["--home", str(export_home.settings.home_path), "reproduce",
                                    str(tmp_path / "edited.zip")])
    assert done.exit_code == 1
    assert "missing from re-run: PROVIDER:PRV-GHOST" in done.output


def test_missing_claim_batches_are_named(export_home, ring_bundle, settings, tmp_path):
    out = ring_bundle
    elsewhere = settings.replace(home=str(tmp_path / "empty-home"))
    batch_id = json.loads(zipfile.ZipFile(out).read("data/run.json"))["batches"][0]["batch_id"]
    with pytest.raises(NotFound, match=batch_id):
        reproduce_bundle(out, elsewhere)


def _drop_member_row(files):
    lines = files["data/members.csv"].decode().splitlines(keepends=True)
    files["data/members.csv"] = "".join(lines[:1] + lines[2:]).encode()
    return lines[1].split(",")[1:3]


def test_a_member_row_removed_from_a_re_signed_bundle_is_not_same(export_home, ring_bundle, tmp_path):
    dropped = []
    forged = forge_bundle(ring_bundle, tmp_path / "forged.zip", lambda f: dropped.extend(_drop_member_row(f)))
    assert verify_bundle(forged).ok, "the forgery should pass the manifest check; reproduce must catch it"
    result = reproduce_bundle(forged, export_home.settings)
    assert not result.same
    assert result.extra_members == [":".join(dropped)]
    assert any("members.csv" in n and "run.json" in n for n in result.notes)
    done = CliRunner().invoke(cli, ["--home", str(export_home.settings.home_path), "reproduce", str(forged)])
    assert done.exit_code == 1 and f"new in re-run: {':'.join(dropped)}" in done.output


def test_an_altered_bundle_is_reported_altered_and_not_re_run(export_home, ring_bundle, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(ring_bundle) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "data/members.csv":
                data = data.replace(b"\n", b"\n#", 1)
            zout.writestr(info, data)
    result = reproduce_bundle(bad, export_home.settings)
    assert not result.same and result.matched_ring_id is None
    assert "changed: data/members.csv" in result.altered
    assert result.lines()[0].startswith("different: the bundle does not match its manifest")
