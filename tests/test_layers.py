"""The layers hold: `lint-imports` checks pyproject's contract, so a wrong import fails the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _contract() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_every_package_keeps_to_its_layer():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contract_names_every_top_level_package():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    config = _contract()
    assert set(config["root_packages"]) == packages
    assert set(config["contracts"][0]["layers"]) == packages


def test_an_import_from_a_higher_layer_breaks_the_contract(tmp_path):
    """The same contract over stand-in packages where ground imports the CLI is reported broken."""
    config = _contract()
    for name in config["root_packages"]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "ground" / "__init__.py").write_text("import shabaka\n")
    contract = config["contracts"][0]
    (tmp_path / "pyproject.toml").write_text(
        "[tool.importlinter]\n"
        f"root_packages = {json.dumps(config['root_packages'])}\n"
        "[[tool.importlinter.contracts]]\n"
        f"name = {json.dumps(contract['name'])}\n"
        f"type = {json.dumps(contract['type'])}\n"
        f"layers = {json.dumps(contract['layers'])}\n"
    )
    result = _lint(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ground -> shabaka" in result.stdout
