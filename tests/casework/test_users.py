"""Viewer accounts added from the command line."""

from __future__ import annotations

from click.testing import CliRunner

from casework.users import UserStore
from shabaka.cli import cli


def test_users_add_reads_the_password_from_stdin_and_audit_list_shows_it(settings):
    runner = CliRunner()
    home = ["--home", str(settings.home_path)]
    result = runner.invoke(cli, [*home, "users", "add", "leila", "--role", "investigator"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    with UserStore(settings.home_path) as store:
        assert store.authenticate("leila", "a-long-password")["role"] == "investigator"
        assert store.authenticate("leila", "wrong") is None
    listed = runner.invoke(cli, [*home, "audit", "list"])
    assert "user_add" in listed.output and "a-long-password" not in listed.output
