"""Keys kept in HOME (the session signing key) and the viewer's pseudonyms.

When the setting is empty, a random session key is generated once and kept in a
file readable by its owner only (mode 0600), so sessions survive a restart.
Pseudonyms use the fund's key and format of :mod:`export.pseudonym`, so
an analyst sees the same pseudonym in the viewer and in a pseudonymised bundle.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from export.pseudonym import PERSONAL_ENTITY_TYPES, Pseudonymiser, load_pseudonym_key
from ground.settings import Settings

__all__ = ["home_key", "make_pseudonymiser", "search_key", "SECRET_KEY_FILE", "PSEUDONYMISED_TYPES", "PSEUDONYM_PREFIXES"]

SECRET_KEY_FILE = "secret_key"
# Entity types that identify a person (or their phone, account, accompanying person).
PSEUDONYMISED_TYPES = frozenset(PERSONAL_ENTITY_TYPES)
PSEUDONYM_PREFIXES = {prefix: kind for kind, prefix in PERSONAL_ENTITY_TYPES.items()}


def home_key(configured: str, home: Path, filename: str) -> str:
    """The configured key, or the one kept in ``home/filename`` (created, mode 0600).

    Parameters
    ----------
    configured : str
        The setting's value; used as is when not empty.
    home : Path
        ``SHABAKA_HOME``.
    filename : str
        File name of the key inside HOME.
    """
    if configured:
        return configured
    path = Path(home) / filename
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def make_pseudonymiser(settings: Settings) -> Callable[[str, str], str]:
    """``f(entity_type, entity_id) -> pseudonym`` with the fund's key (created in HOME when unset)."""
    inner = Pseudonymiser(load_pseudonym_key(settings))

    def pseudonym(entity_type: str, entity_id: str) -> str:
        return inner.pseudonym(entity_id, PERSONAL_ENTITY_TYPES[entity_type])
    return pseudonym


def search_key(settings: Settings) -> bytes:
    """The key of the keyed hash that stands for a search text in the audit log.

    Derived from the pseudonym key (a separate purpose, so a search hash never
    equals a pseudonym), so whoever holds that key can test whether a text was searched.
    """
    return hmac.new(load_pseudonym_key(settings), b"shabaka audit search", hashlib.sha256).digest()
