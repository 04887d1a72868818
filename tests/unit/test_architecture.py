"""One door: the entry points change things through service commands, never by hand.

import-linter keeps repositories and the follow-on modules out of web, cli and the mail
adapters (pyproject.toml). What it cannot see is a call: these checks read the entry
points' code for a unit of work opened by hand, a repository reached through it, or a
follow-on step (SLA clocks, search index, triage, mail, audit) called directly.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "caredesk"
ENTRY_POINTS = [SRC / "web", SRC / "cli", SRC / "adapters" / "mail"]
# The steps that follow a change: each runs from an event handler, inside the change's own
# transaction, and is never an entry point's business.
FOLLOW_ON = {
    "sync_case",
    "index_case",
    "queue_case_reply",
    "triage_case_in",
    "after_outbound",
    "record_event",
    "emit",
}


def _entry_point_files() -> list[Path]:
    return sorted(p for folder in ENTRY_POINTS for p in folder.rglob("*.py"))


def _violations(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.withitem) and "uow" in ast.unparse(node.context_expr):
            found.append(f"line {node.context_expr.lineno}: opens a unit of work by hand")
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if isinstance(node.func, ast.Name):
                name = node.func.id
            if name in FOLLOW_ON:
                found.append(f"line {node.lineno}: calls the follow-on step {name}()")
    return found


def test_there_are_entry_points_to_check() -> None:
    assert len(_entry_point_files()) > 20


@pytest.mark.parametrize("path", _entry_point_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_an_entry_point_only_calls_commands(path: Path) -> None:
    assert _violations(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "code",
    [
        "with container.uow() as uow:\n    uow.cases.get(1)\n",
        "sla.sync_case(uow, case, now, before_status=status)\n",
        "search.index_case(uow, case, now)\n",
    ],
)
def test_the_check_sees_a_door_opened_by_hand(code: str) -> None:
    assert _violations(ast.parse(code))
