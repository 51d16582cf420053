from pathlib import Path

import pytest

from ground.errors import ConfigError
from ground.settings import SETTINGS, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_apply_without_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, {})
    assert settings.home == "./shabaka-data"
    assert all(source == "default" for source in settings.sources.values())


def test_file_overrides_defaults_and_environment_overrides_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "shabaka.toml"
    config.write_text('[shabaka]\nwindow_weeks = 8\nseed = 3\n', encoding="utf-8")
    settings = load_settings(config, {"SHABAKA_SEED": "9"})
    assert settings.window_weeks == 8 and settings.sources["window_weeks"] == str(config)
    assert settings.seed == 9 and settings.sources["seed"] == "SHABAKA_SEED"


def test_unknown_setting_in_file_is_refused(tmp_path):
    config = tmp_path / "shabaka.toml"
    config.write_text("windw_weeks = 8\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="windw_weeks"):
        load_settings(config, {})


def test_bad_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="SHABAKA_PORT"):
        load_settings(None, {"SHABAKA_PORT": "eighty"})


def test_secrets_are_masked():
    settings = load_settings(None, {"SHABAKA_NEO4J_PASSWORD": "hunter2"})
    assert settings.masked()["neo4j_password"] == "********"
    assert "hunter2" not in repr(settings.masked())


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.env_var for s in SETTINGS if f"`{s.env_var}`" not in readme]
    assert not missing, f"settings missing from README.md: {missing}"
