"""``reproduce_bundle`` and ``shabaka reproduce``: same members from the recorded batches, or the differences."""

from __future__ import annotations

import json
import zipfile

import pytest
from click.testing import CliRunner

from shabaka.cli import cli
from ground.errors import NotFound
from export import reproduce_bundle


def _edit_provenance(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "data/run.json":
                prov = json.loads(data)
                edit(prov)
                data = json.dumps(prov).encode()
            zout.writestr(info, data)
    return dst


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
    out = ring_bundle

    def edit(prov):
        prov["members"] = prov["members"][1:] + [{"entity_type": "PROVIDER", "entity_id": "PRV-GHOST", "role": "x"}]

    dropped = json.loads(zipfile.ZipFile(out).read("data/run.json"))["members"][0]
    result = reproduce_bundle(_edit_provenance(out, tmp_path / "edited.zip", edit), export_home.settings)
    assert not result.same
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
