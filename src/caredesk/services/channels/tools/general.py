"""General tools that touch no record: arithmetic, thinking out loud, handing off to a person."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from caredesk.domain.errors import ValidationFailed
from caredesk.services.channels.tools.arguments import arguments, string
from caredesk.services.channels.tools.registry import ToolCall, ToolResult, ToolSet

TOOLS = ToolSet()

_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _arith(node: ast.AST) -> float:
    """Evaluate + - * / and parentheses only: no names, calls or attributes."""
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_arith(node.left), _arith(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_arith(node.operand)))
    raise ValueError("only numbers, + - * / and parentheses")


@TOOLS.read(
    "calculate",
    "Evaluate arithmetic: numbers, + - * / and parentheses.",
    arguments(["expression"], expression=string("For example '2 + 2'.")),
)
def calculate(call: ToolCall) -> ToolResult:
    expression = str(call.arguments["expression"])
    if len(expression) > 200:
        raise ValidationFailed("the expression is too long", details={"field": "expression"})
    try:
        value = _arith(ast.parse(expression, mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError) as exc:
        raise ValidationFailed(f"cannot calculate: {exc}", details={"field": "expression"}) from exc
    return ToolResult("done", str(round(value, 2)))


@TOOLS.read(
    "think",
    "Think out loud; changes nothing.",
    arguments(["thought"], thought=string("A thought.")),
)
def think(call: ToolCall) -> ToolResult:
    return ToolResult("done", "")


@TOOLS.read(
    "transfer_to_human_agents",
    "Hand the conversation to a person, with a summary.",
    arguments(["summary"], summary=string("What the user needs.")),
)
def transfer_to_human_agents(call: ToolCall) -> ToolResult:
    return ToolResult("done", "Transfer successful")
