"""Thin routes: a route parses its input, calls one service and renders.

Every function in `web/` decorated with a router method (`@router.get`, `@app.post`, …)
keeps a body of at most fifteen lines, not counting its signature and docstring; what
decides what a page shows belongs in the services, a form's parsing in a typed model.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "caredesk"
WEB = SRC / "web"
MAX_BODY_LINES = 15
ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route"}


def _is_route(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in ROUTE_METHODS:
            return True
    return False


def _body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = function.body
    first = body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and len(body) > 1
    ):
        body = body[1:]
    end = body[-1].end_lineno or body[-1].lineno
    return end - body[0].lineno + 1


def _routes() -> list[tuple[str, int]]:
    found = []
    for path in sorted(WEB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_route(node):
                where = f"{path.relative_to(SRC)}:{node.lineno} {node.name}"
                found.append((where, _body_lines(node)))
    return found


def test_there_are_routes_to_check() -> None:
    assert len(_routes()) > 100


def test_every_route_body_is_at_most_fifteen_lines() -> None:
    too_long = [f"{where} ({lines} lines)" for where, lines in _routes() if lines > MAX_BODY_LINES]
    assert too_long == [], "routes over fifteen lines:\n" + "\n".join(too_long)
