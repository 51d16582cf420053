"""Cases on rings, at the store: comments need text and an open case; no database, no status."""

from __future__ import annotations

import pytest

from casework.cases import CaseStore, case_status
from ground.errors import InputRefused, NotFound


def test_case_store_refuses_empty_comments_and_missing_cases(settings):
    with CaseStore(settings.home_path) as store:
        with pytest.raises(NotFound):
            store.comment("NOPE", author="a", body="x")
        store.open_case("RING-1", actor="a")
        with pytest.raises(InputRefused):
            store.comment("RING-1", author="a", body="   ")


def test_case_status_without_a_database_is_none(tmp_path):
    assert case_status(tmp_path / "nothing", "RING-1") is None
