"""Pseudonymisation: personal identifiers replaced by a keyed hash (HMAC-SHA256).

The key stays with the fund (``settings.pseudonym_key`` or ``HOME/keys/pseudonym.key``),
so a prosecutor sees stable pseudonyms and the fund alone can tell who they are.
The same identifier gets the same pseudonym in every file of a bundle and in
every bundle made with the same key; a beneficiary id and the household id equal
to it stay equal, so family links survive.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import networkx as nx
import pandas as pd

from ground.files import secret_key
from ingest.schema import ENTITY_COLUMNS

__all__ = [
    "PERSONAL_COLUMNS",
    "PERSONAL_ENTITY_TYPES",
    "Pseudonymiser",
    "load_pseudonym_key",
    "pseudonymise_graph",
]

#: Member entity types whose ids are personal, and the pseudonym prefix of each. An inferred
#: intermediary's id is an unkeyed hash of its phones and accounts, which can be
#: brute-forced over the space of phone numbers, so it is pseudonymised too.
PERSONAL_ENTITY_TYPES: dict[str, str] = {
    "BENEFICIARY": "BEN",
    "PHONE": "TEL",
    "ACCOUNT": "RIB",
    "REFERRER": "REF",
    "INTERMEDIARY": "INT",
}
#: Claims columns holding identifiers of people, with the same prefixes; a household is
#: keyed like a beneficiary.
PERSONAL_COLUMNS: dict[str, str] = {
    **{ENTITY_COLUMNS[t]: prefix for t, prefix in PERSONAL_ENTITY_TYPES.items() if t in ENTITY_COLUMNS},
    "household_id": PERSONAL_ENTITY_TYPES["BENEFICIARY"],
}
_KEY_FILE = Path("keys") / "pseudonym.key"


def load_pseudonym_key(settings) -> bytes:
    """The fund's pseudonymisation key.

    ``settings.pseudonym_key`` when set; otherwise ``HOME/keys/pseudonym.key``,
    created with 32 random bytes (hex) and mode 0600 the first time.

    Parameters
    ----------
    settings : Settings

    Raises
    ------
    ConfigError
        The key file exists but is empty or readable by others.
    """
    if settings.pseudonym_key:
        return str(settings.pseudonym_key).encode("utf-8")
    return secret_key(settings.home_path / _KEY_FILE, "pseudonym key")


class Pseudonymiser:
    """Keyed, consistent replacement of personal identifiers.

    Parameters
    ----------
    key : bytes
        The HMAC key.
    """

    def __init__(self, key: bytes):
        self._key = key
        self._seen: dict[str, str] = {}

    @property
    def key_id(self) -> str:
        """A fingerprint of the key (not the key): tells which key made a bundle."""
        return hmac.new(self._key, b"shabaka-pseudonym-key-id", hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, value: str, prefix: str) -> str:
        """``PREFIX~`` and the first 20 hex digits of HMAC-SHA256(key, value).

        Parameters
        ----------
        value : str
        prefix : str
            ``BEN``, ``TEL``, ``RIB``, ``REF`` or ``INT``.
        """
        digest = hmac.new(self._key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:20]
        out = f"{prefix}~{digest}"
        self._seen[str(value)] = out
        return out

    def claims(self, claims: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``claims`` with every :data:`PERSONAL_COLUMNS` value replaced.

        Parameters
        ----------
        claims : DataFrame
            Claims-contract lines.
        """
        out = claims.copy()
        for col, prefix in PERSONAL_COLUMNS.items():
            if col in out.columns:
                out[col] = self._column(out[col], prefix)
        return out

    def members(self, members: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``members`` with personal entity ids replaced, and ids in evidence text.

        Parameters
        ----------
        members : DataFrame
            members.csv rows.
        """
        out = members.copy()
        if len(out):
            prefixes = out["entity_type"].map(PERSONAL_ENTITY_TYPES)
            out["entity_id"] = [
                self.pseudonym(v, p) if isinstance(p, str) else v for v, p in zip(out["entity_id"], prefixes)
            ]
        if "evidence" in out.columns:
            out["evidence"] = out["evidence"].map(self.text)
        return out

    def text(self, text):
        """``text`` with every identifier pseudonymised so far replaced by its pseudonym.

        Parameters
        ----------
        text : str or object
            Non-strings are returned unchanged.
        """
        if not isinstance(text, str) or not self._seen:
            return text
        return self._pattern().sub(lambda m: self._seen[m.group(0)], text)

    def _pattern(self) -> re.Pattern:
        # Longest first, so "BEN-10" is not eaten by "BEN-1"; word-ish borders keep
        # an id from matching inside a longer one.
        alternatives = "|".join(re.escape(v) for v in sorted(self._seen, key=len, reverse=True) if v)
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")

    def _column(self, column: pd.Series, prefix: str) -> pd.Series:
        mask = column.notna()
        out = column.copy()
        uniques = pd.unique(column[mask])
        mapping = {v: self.pseudonym(v, prefix) for v in uniques}
        out[mask] = column[mask].map(mapping)
        return out


def pseudonymise_graph(G, pseudonymiser: Pseudonymiser):
    """A copy of ``G`` with every known identifier in node ids and string attributes pseudonymised.

    Call it after :meth:`Pseudonymiser.claims` and :meth:`Pseudonymiser.members`
    have seen the ring's identifiers.

    Parameters
    ----------
    G : networkx.Graph
    pseudonymiser : Pseudonymiser
    """
    def clean(attrs: dict) -> dict:
        return {k: pseudonymiser.text(v) if isinstance(v, str) else v for k, v in attrs.items()}

    H = nx.Graph()
    H.graph.update(clean(G.graph))
    for node, attrs in G.nodes(data=True):
        H.add_node(pseudonymiser.text(str(node)), **clean(attrs))
    for u, v, attrs in G.edges(data=True):
        H.add_edge(pseudonymiser.text(str(u)), pseudonymiser.text(str(v)), **clean(attrs))
    return H
