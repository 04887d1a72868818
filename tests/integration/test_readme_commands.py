"""The README's command table names every command `caredesk --help` has, and only those."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from caredesk.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"
WORD = re.compile(r"[a-z][a-z0-9-]*")


def _leaves(command: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every runnable command under `command`, as its words; a group has `commands`. A
    hidden one (a deprecated name kept for old scripts) is not in `--help`, nor here."""
    subcommands = getattr(command, "commands", None)
    if subcommands:
        found: set[tuple[str, ...]] = set()
        for name, sub in subcommands.items():
            if not sub.hidden:
                found |= _leaves(sub, (*path, name))
        return found
    return {path}


def _words(span: str) -> tuple[str, ...]:
    """The command words of `caredesk kb export [--format …] OUT`: ("kb", "export")."""
    words = []
    for word in span.removeprefix("caredesk ").split():
        if not WORD.fullmatch(word):
            break
        words.append(word)
    return tuple(words)


def _table_rows() -> list[list[tuple[str, ...]]]:
    """Per row of the table, the command words of each `…` in its first cell."""
    section = README.read_text(encoding="utf-8").split("## Command line", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `caredesk "):
            continue
        first_cell = re.split(r"(?<!\\)\|", line)[1]
        rows.append([_words(span) for span in re.findall(r"`([^`]+)`", first_cell)])
    return rows


def _documented() -> set[tuple[str, ...]]:
    """A later `…` in a row may leave out the words it shares with the row's first."""
    named: set[tuple[str, ...]] = set()
    for spans in _table_rows():
        first = spans[0]
        for words in spans:
            named.add(words)
            named |= {first[:shared] + words for shared in range(1, len(first))}
    return named


def test_every_command_is_in_the_readme() -> None:
    commands = _leaves(typer.main.get_command(app))
    assert sorted(" ".join(c) for c in commands - _documented()) == []


def test_the_readme_names_no_command_that_does_not_exist() -> None:
    commands = _leaves(typer.main.get_command(app))
    first_spans = {spans[0] for spans in _table_rows()}
    assert sorted(" ".join(c) for c in first_spans - commands) == []
