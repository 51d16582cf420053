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


@pytest.fixture
def raw_claims(tiny_claims):
    """Make the first ``rows`` tiny claim lines as raw text, as read from a file, with
    ``changes`` written into line ``row`` (0-based): ``raw_claims(quantity="0")``."""

    def make(rows: int = 3, row: int = 1, **changes):
        raw = tiny_claims.head(rows).astype(object).astype(str)
        raw = raw.mask(tiny_claims.head(rows).isna(), "")
        raw["service_date"] = "2025-03-03"
        raw["submission_date"] = "2025-03-04"
        for col, value in changes.items():
            raw.loc[row, col] = value
        return raw.reset_index(drop=True)

    return make
