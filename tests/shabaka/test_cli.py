import json

import click
import pytest
from click.testing import CliRunner

from shabaka.cli import cli


def _all_commands(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path", list(_all_commands(cli)), ids=lambda p: " ".join(p))
def test_every_verb_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_settings_prints_secrets_masked(tmp_path):
    env = {"SHABAKA_HOME": str(tmp_path), "SHABAKA_NEO4J_PASSWORD": "hunter2"}
    result = CliRunner().invoke(cli, ["settings", "--json"], env=env)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["home"] == {"value": str(tmp_path), "source": "SHABAKA_HOME"}
    assert "hunter2" not in result.output
