"""``verify_bundle`` and ``shabaka verify``: intact, or every changed, missing and added file named."""

from __future__ import annotations

import subprocess
import zipfile

import pytest
from click.testing import CliRunner

from shabaka.cli import cli
from ground.errors import InputRefused
from export import verify_bundle


@pytest.fixture
def bundle(ring_bundle):
    return ring_bundle


def _rewrite(src, dst, *, change=None, drop=None, add=None):
    """Copy a zip entry by entry, flipping one byte of ``change``, leaving out ``drop``, adding ``add``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = zin.read(info.filename)
            if info.filename == change:
                data = data[:10] + bytes([data[10] ^ 0x01]) + data[11:]
            zout.writestr(info, data)
        if add:
            zout.writestr(add, b"planted\n")
    return dst


def test_untouched_bundle_is_intact(bundle):
    result = verify_bundle(bundle)
    assert result.ok
    assert result.checked > 20
    assert result.lines()[0].startswith("intact")


def test_one_changed_byte_is_named(bundle, tmp_path):
    result = verify_bundle(_rewrite(bundle, tmp_path / "x.zip", change="data/claims.csv"))
    assert not result.ok
    assert result.changed == ["data/claims.csv"]
    assert not result.missing and not result.added


def test_removed_and_added_files_are_named(bundle, tmp_path):
    result = verify_bundle(_rewrite(bundle, tmp_path / "x.zip", drop="data/graph/ring.gexf", add="data/extra.txt"))
    assert result.missing == ["data/graph/ring.gexf"]
    assert result.added == ["data/extra.txt"]
    assert "missing: data/graph/ring.gexf" in result.lines()


def test_edited_manifest_breaks_the_tag_manifest_and_the_audit_hash(bundle, tmp_path):
    result = verify_bundle(_rewrite(bundle, tmp_path / "x.zip", change="manifest-sha256.txt"))
    assert "manifest-sha256.txt" in result.changed
    assert any("payload sha256" in p for p in result.problems)


def test_damaged_zip_bytes_are_reported_not_raised(bundle, tmp_path):
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo("data/report.html")
    raw[info.header_offset + 30 + len(info.filename) + 5] ^= 0xFF  # inside the compressed data
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    result = verify_bundle(damaged)
    assert result.changed == ["data/report.html"]


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "x.zip"
    path.write_text("hello")
    with pytest.raises(InputRefused, match="x.zip"):
        verify_bundle(path)


def test_cli_verify_exit_codes(bundle, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["verify", str(bundle)])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(cli, ["verify", str(_rewrite(bundle, tmp_path / "x.zip", change="data/members.csv"))])
    assert bad.exit_code == 1
    assert "changed: data/members.csv" in bad.output


@pytest.mark.needs_tool("sha256sum")
def test_sha256sum_checks_the_unzipped_bundle(bundle, tmp_path):
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(folder)
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        done = subprocess.run(["sha256sum", "--quiet", "-c", manifest], cwd=folder, capture_output=True)
        assert done.returncode == 0, done.stdout + done.stderr
    (folder / "data" / "ring.csv").write_text("tampered\n")
    done = subprocess.run(["sha256sum", "--quiet", "-c", "manifest-sha256.txt"], cwd=folder, capture_output=True)
    assert done.returncode == 1
    assert b"data/ring.csv: FAILED" in done.stdout
