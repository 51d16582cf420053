"""Settings, declared once: name, default, help.

They are read from the defaults, then a ``shabaka.toml`` file, then ``SHABAKA_*``
environment variables, and passed explicitly to whatever needs them. This module
never reads the environment by itself: callers hand it a mapping (the command
line hands it ``os.environ``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ground.errors import ConfigError

__all__ = ["Setting", "SETTINGS", "Settings", "load_settings", "ENV_PREFIX"]

ENV_PREFIX = "SHABAKA_"


@dataclass(frozen=True)
class Setting:
    """One declared setting."""

    name: str
    default: Any
    help: str
    type: type = str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, value: Any, source: str) -> Any:
        """Convert ``value`` read from ``source`` to this setting's type.

        Parameters
        ----------
        value : object
            As read (None stays None).
        source : str
            Where it was read, named in the error.
        """
        if value is None:
            return None
        try:
            if self.type is bool:
                if isinstance(value, bool):
                    return value
                text = str(value).strip().lower()
                if text in {"1", "true", "yes", "on"}:
                    return True
                if text in {"0", "false", "no", "off", ""}:
                    return False
                raise ValueError(text)
            if self.type in (int, float):
                return self.type(value)
            return str(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"setting {self.name!r} from {source}: expected {self.type.__name__}, got {value!r}"
            ) from None


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "./shabaka-data", "Folder holding all state: claims batches, SQLite catalogue, runs, findings."),
    Setting("chunk_rows", 100_000, "Rows read per chunk while ingesting; bounds ingest memory.", int),
    Setting("window_weeks", 12, "Trailing weeks of claims the weekly run builds its graph from.", int),
    Setting("inbox", "", "Folder the weekly run takes new claim files from; empty means HOME/inbox."),
    Setting("seed", 42, "Seed for every randomised step (Louvain, sampling), so runs are reproducible.", int),
    Setting("louvain_engine", "auto", "Community engine: python-louvain, igraph, leiden, or auto (Leiden above 20,000 edges)."),
    Setting("alert_growth", 0.25, "Relative rise in a ring's amount at risk that makes it 'grown' and re-alerted.", float),
    Setting("alert_min_amount", 5000.0, "Smallest rise in amount at risk (MAD) that counts as material.", float),
    Setting("max_rings", 200, "Most rings a run keeps, best first.", int),
    Setting("detection_config", "", "TOML file overriding detection thresholds (docs/detectors.md); empty means the defaults."),
    Setting("neighbourhood_limit", 200, "Default cap on edges returned by a neighbourhood query.", int),
    Setting("neo4j_uri", "", "Bolt URI of a Neo4j server (e.g. neo4j://localhost:7687); empty disables Neo4j."),
    Setting("neo4j_user", "neo4j", "Neo4j user name."),
    Setting("neo4j_password", "", "Neo4j password.", secret=True),
    Setting("neo4j_database", "neo4j", "Neo4j database name."),
    Setting("secret_key", "", "Flask session signing key; empty means one generated and kept in HOME.", secret=True),
    Setting("pseudonym_key", "", "Key of the keyed hash that pseudonymises identifiers; empty means one kept in HOME.", secret=True),
    Setting("host", "127.0.0.1", "Address the viewer listens on."),
    Setting("port", 5000, "Port the viewer listens on.", int),
    Setting("login_attempts", 5, "Failed logins allowed per account and address within 15 minutes.", int),
    Setting("log_level", "INFO", "Logging level: DEBUG, INFO, WARNING, ERROR."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Settings(Mapping[str, Any]):
    """Resolved settings, read-only; ``settings.home`` or ``settings["home"]``.

    ``sources`` tells where each value came from: ``default``, the file path, or
    the environment variable name.
    """

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]):
        self._values = dict(values)
        self.sources = dict(sources)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def home_path(self) -> Path:
        return Path(self._values["home"])

    @property
    def inbox_path(self) -> Path:
        return Path(self._values["inbox"]) if self._values["inbox"] else self.home_path / "inbox"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (sources become ``override``).

        Parameters
        ----------
        **changes
            Setting name -> new value.
        """
        unknown = set(changes) - set(_BY_NAME)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values = dict(self._values)
        sources = dict(self.sources)
        for name, value in changes.items():
            values[name] = _BY_NAME[name].parse(value, "override")
            sources[name] = "override"
        return Settings(values, sources)

    def masked(self) -> dict[str, Any]:
        """Values with secrets replaced by ``********`` when set."""
        return {
            name: ("********" if _BY_NAME[name].secret and value else value)
            for name, value in self._values.items()
        }


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: defaults, then the TOML file, then ``SHABAKA_*`` variables.

    Parameters
    ----------
    config_file : path, optional
        A ``shabaka.toml``; when None, ``./shabaka.toml`` is read if it exists.
    environ : mapping, optional
        Environment variables to read ``SHABAKA_*`` from; None reads none.

    Returns
    -------
    Settings
    """
    values = {s.name: s.default for s in SETTINGS}
    sources = {s.name: "default" for s in SETTINGS}
    environ = environ or {}
    path = Path(config_file) if config_file else None
    if path is None and environ.get(ENV_PREFIX + "CONFIG"):
        path = Path(environ[ENV_PREFIX + "CONFIG"])
    if path is None and Path("shabaka.toml").is_file():
        path = Path("shabaka.toml")
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"{path}: settings file not found")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        table = data.get("shabaka", data)
        for key, value in table.items():
            if key not in _BY_NAME:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[key] = _BY_NAME[key].parse(value, str(path))
            sources[key] = str(path)
    for setting in SETTINGS:
        if setting.env_var in environ:
            values[setting.name] = setting.parse(environ[setting.env_var], setting.env_var)
            sources[setting.name] = setting.env_var
    return Settings(values, sources)
