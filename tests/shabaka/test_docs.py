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
