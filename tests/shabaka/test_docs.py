"""The README's commands are real: every ``shabaka`` invocation names an existing verb and options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from shabaka.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _invocations():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:sh|bash|cron|ini)?\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                for part in re.split(r"&&|\|\||\||;", line):
                    part = part.strip().removeprefix("ExecStart=")
                    first = part.split(" ", 1)[0]
                    if first == "shabaka" or first.endswith("/bin/shabaka"):
                        yield doc.name, part


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = cli
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"no verb {name!r}"
        command = command.commands[name]
    return command, rest


CASES = sorted(set(_invocations()))


def test_the_readme_shows_commands():
    assert any(doc == "README.md" for doc, _ in CASES)


@pytest.mark.parametrize("doc,line", CASES, ids=[f"{d}: {line[:60]}" for d, line in CASES])
def test_documented_invocation_names_real_verbs_and_options(doc, line):
    line = line.split("#")[0].split(">>")[0].split(" >")[0]
    words = [w.strip("[]") for w in shlex.split(line.replace("...", ""))[1:]]
    global_opts = {opt for p in cli.params for opt in p.opts}
    while words and words[0] in global_opts:
        words = words[2:] if not words[0].startswith("--version") else words[1:]
    command, rest = _resolve(words)
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
    for word in rest:
        if word.startswith("-") and word not in ("-", "--"):
            assert word.split("=")[0] in known, f"{doc}: `{line}` uses unknown option {word}"


def test_readme_and_ci_name_every_system_package_the_tests_need():
    from tests.conftest import SYSTEM_TOOLS

    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    packages = (set(SYSTEM_TOOLS.values()) - {"coreutils"}) | {"npm", "make", "python3-venv"}
    for package in sorted(packages):
        assert f" {package}" in readme, f"README does not name the system package {package}"
        assert package in ci, f".ci/run does not install {package}"


_PROBE = '''
import pytest

@pytest.mark.needs_tool("no-such-command-for-shabaka")
def test_needs_a_missing_tool():
    pass
'''


@pytest.mark.parametrize("ci", ["", "true"])
def test_a_missing_system_command_is_named_and_fails_under_ci(pytester, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest("from tests.conftest import pytest_configure, pytest_runtest_setup, "
                          "pytest_terminal_summary  # noqa: F401")
    pytester.makepyfile(test_probe=_PROBE)
    result = pytester.runpytest_inprocess("-ra", "-p", "no:cacheprovider")
    from tests.conftest import _MISSING_TOOLS

    _MISSING_TOOLS.pop("no-such-command-for-shabaka", None)  # the probe's, not this session's
    if ci:
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*CI=true and no-such-command-for-shabaka not installed*"])
    else:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines(["*missing system tools*", "no-such-command-for-shabaka: needed by 1 test(s), not run*"])
