"""Keys kept in HOME (the session signing key) and the viewer's pseudonyms.

When the setting is empty, a random session key is generated once and kept in a
file readable by its owner only (mode 0600, refused otherwise), so sessions survive a restart.
Pseudonyms use the fund's key and format of :mod:`export.pseudonym`, so
an analyst sees the same pseudonym in the viewer and in a pseudonymised bundle.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

from export.pseudonym import PERSONAL_ENTITY_TYPES, Pseudonymiser, load_pseudonym_key
from ground.files import secret_key
from ground.settings import Settings

__all__ = ["home_key", "make_pseudonymiser", "search_key", "SECRET_KEY_FILE", "PSEUDONYMISED_TYPES", "PSEUDONYM_PREFIXES"]

SECRET_KEY_FILE = "secret_key"
# Entity types that identify a person (or their phone, account, accompanying person).
PSEUDONYMISED_TYPES = frozenset(PERSONAL_ENTITY_TYPES)
PSEUDONYM_PREFIXES = {prefix: kind for kind, prefix in PERSONAL_ENTITY_TYPES.items()}


def home_key(configured: str, home: Path, filename: str) -> str:
    """The configured key, or the one kept in ``home/filename`` (:func:`ground.files.secret_key`:
    created 0600 once, refused when others can read it or when it is empty).

    Parameters
    ----------
    configured : str
        The setting's value; used as is when not empty.
    home : Path
        ``SHABAKA_HOME``.
    filename : str
        File name of the key inside HOME.

    Raises
    ------
    ConfigError
        The key file is readable by others than its owner, or empty.
    """
    if configured:
        return configured
    return secret_key(Path(home) / filename, "session key").decode("ascii")


def make_pseudonymiser(settings: Settings) -> Callable[[str, str], str]:
    """``f(entity_type, entity_id) -> pseudonym`` with the fund's key (created in HOME when unset).

    Parameters
    ----------
    settings : Settings
    """
    inner = Pseudonymiser(load_pseudonym_key(settings))

    def pseudonym(entity_type: str, entity_id: str) -> str:
        return inner.pseudonym(entity_id, PERSONAL_ENTITY_TYPES[entity_type])
    return pseudonym


def search_key(settings: Settings) -> bytes:
    """The key of the keyed hash that stands for a search text in the audit log.

    Derived from the pseudonym key (a separate purpose, so a search hash never
    equals a pseudonym), so whoever holds that key can test whether a text was searched.

    Parameters
    ----------
    settings : Settings
    """
    return hmac.new(load_pseudonym_key(settings), b"shabaka audit search", hashlib.sha256).digest()
