"""Fixtures of the ingest tests: the tiny claims as contract CSV text and files."""

from __future__ import annotations

import pytest


@pytest.fixture
def claims_lines(tiny_claims) -> list[str]:
    """Header plus one line per tiny claim line."""
    return tiny_claims.to_csv(index=False, date_format="%Y-%m-%d").splitlines()


@pytest.fixture
def claims_file(tmp_path, claims_lines):
    """The tiny claims as a contract CSV file."""
    path = tmp_path / "claims.csv"
    path.write_text("\n".join(claims_lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(settings):
    """A fresh claims store in the settings' home."""
    from ingest.store import ClaimsStore

    s = ClaimsStore(settings.home_path)
    yield s
    s.close()
