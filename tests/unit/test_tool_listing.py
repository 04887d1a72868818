"""The tool API AI agents see is a published contract: agents are built against these
names, descriptions and argument schemas, tokens are limited by these names, and agents
read the errors. The listing is pinned, in listing order and byte for byte, to a fixture;
the errors a call meets before it reaches any record are pinned here. A change to either is
a deliberate change of the contract, made in the pin first.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from caredesk.domain.agents import Actor, Permission, Role
from caredesk.domain.errors import DomainError
from caredesk.services.channels.tools import (
    RETAIL_TOOLS,
    TOOL_NAMES,
    WRITE_TOOLS,
    Registry,
    Tool,
    ToolCall,
    ToolResult,
    ToolSet,
    build_registry,
)
from caredesk.services.channels.tools.arguments import arguments

FIXTURE = Path(__file__).parent.parent / "data" / "tool_listing.json"
VERIFY_FIRST = "identify the customer first (find_user_id_by_email or find_user_id_by_name_zip)"
RETURN = {"order_id": "#W1", "payment_method_id": "credit_card_1"}
CANCEL = {"order_id": "#W1", "reason": "no longer needed"}


def _listing() -> dict[str, Any]:
    tools = [
        {
            **tool.schema(),
            "writes": tool.writes,
            "scope": (Permission.WRITE_CASES if tool.writes else Permission.READ).value,
        }
        for tool in build_registry().tools.values()
    ]
    return {
        "tools": tools,
        "retail_tools": list(RETAIL_TOOLS),
        "write_tools": sorted(WRITE_TOOLS),
        "tool_names": sorted(TOOL_NAMES),
    }


def test_the_tool_listing_is_the_pinned_one() -> None:
    text = json.dumps(_listing(), indent=2, ensure_ascii=False) + "\n"
    assert text == FIXTURE.read_text(encoding="utf-8")


def _error(kind: str, code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"raised": kind, "code": code, "message": message, "details": details}


def _invalid(field: str, message: str) -> dict[str, Any]:
    return _error("ValidationFailed", "validation_error", message, field=field)


def _answer(status: str, result: Any = None, **fields: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"status": status, "result": result, "code": None, "rule": None}
    return {**answer, "message": None, **fields, "verified_customer_id": None}


def _cannot_calculate(message: str) -> dict[str, Any]:
    return _answer("refused", code="validation_error", message=message)


def _identify_first(message: str) -> dict[str, Any]:
    return _answer("refused", code="not_customers", rule="identity.verified", message=message)


# Calls that end before any record is read: what the caller is told, exactly.
CALLS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "no_such_tool",
        {},
        {},
        _error(
            "NotFound", "not_found", "tool no_such_tool not found", entity="tool", id="no_such_tool"
        ),
    ),
    (
        "get_order_details",
        {"order_id": "#W1"},
        {"tools": ("think",)},
        _error(
            "Forbidden",
            "forbidden",
            "this token may not use the tool get_order_details",
            tool="get_order_details",
        ),
    ),
    (
        "cancel_pending_order",
        CANCEL,
        {"role": Role.VIEWER},
        _error(
            "Forbidden",
            "forbidden",
            "role viewer may not write cases",
            permission="write_cases",
            role="viewer",
        ),
    ),
    ("get_order_details", {}, {}, _invalid("order_id", "missing argument 'order_id'")),
    (
        "get_order_details",
        {"order_id": "#W1", "extra": 1},
        {},
        _invalid("extra", "unknown argument 'extra'"),
    ),
    (
        "get_order_details",
        {"order_id": 7},
        {},
        _invalid("order_id", "argument 'order_id' must be of type string"),
    ),
    (
        "get_order_details",
        {"order_id": "x" * 1001},
        {},
        _invalid("order_id", "argument 'order_id' is longer than 1000 characters"),
    ),
    (
        "get_order_details",
        {"order_id": "#W\x00"},
        {},
        _invalid("order_id", "argument 'order_id' contains a NUL character"),
    ),
    (
        "return_delivered_order_items",
        {**RETURN, "item_ids": [1]},
        {},
        _invalid("item_ids", "argument 'item_ids' must be a list of strings"),
    ),
    (
        "return_delivered_order_items",
        {**RETURN, "item_ids": ["1"] * 101},
        {},
        _invalid("item_ids", "argument 'item_ids' has more than 100 items"),
    ),
    (
        "return_delivered_order_items",
        {**RETURN, "item_ids": ["x" * 1001]},
        {},
        _invalid("item_ids", "argument 'item_ids' is longer than 1000 characters"),
    ),
    ("plan_case", {"case_id": 0}, {}, _invalid("case_id", "argument 'case_id' is out of range")),
    (
        "plan_case",
        {"case_id": True},
        {},
        _invalid("case_id", "argument 'case_id' must be of type integer"),
    ),
    (
        "plan_case",
        {"case_id": "1"},
        {},
        _invalid("case_id", "argument 'case_id' must be of type integer"),
    ),
    (
        "calculate",
        {"expression": "__import__('os')"},
        {},
        _cannot_calculate("cannot calculate: only numbers, + - * / and parentheses"),
    ),
    (
        "calculate",
        {"expression": "1/0"},
        {},
        _cannot_calculate("cannot calculate: float division by zero"),
    ),
    ("calculate", {"expression": "1+" * 101}, {}, _cannot_calculate("the expression is too long")),
    ("calculate", {"expression": "(2 + 3) * 4 / 8"}, {}, _answer("done", "2.5")),
    ("think", {"thought": "hm"}, {}, _answer("done", "")),
    ("transfer_to_human_agents", {"summary": "s"}, {}, _answer("done", "Transfer successful")),
    (
        "cancel_pending_order",
        CANCEL,
        {},
        _identify_first(
            f"{VERIFY_FIRST}; over HTTP, with a token limited to tools or issued for the customer"
        ),
    ),
    (
        "cancel_pending_order",
        CANCEL,
        {"tools": ("cancel_pending_order",)},
        _identify_first(VERIFY_FIRST),
    ),
]


@pytest.mark.parametrize(
    ("name", "arguments", "actor", "expected"),
    CALLS,
    ids=[f"{i}-{name}" for i, (name, *_) in enumerate(CALLS)],
)
def test_what_a_call_is_told_before_it_reaches_any_record(
    name: str, arguments: dict[str, Any], actor: dict[str, Any], expected: dict[str, Any]
) -> None:
    call = ToolCall(
        # Nothing here may reach a record: a unit of work that is asked for stays unused.
        uow=object,  # type: ignore[arg-type]
        actor=Actor(**{"role": Role.AGENT, **actor}),
        now=datetime(2024, 5, 1, tzinfo=UTC),
        arguments=arguments,
    )
    try:
        outcome = asdict(build_registry().run(name, call))
    except DomainError as exc:
        outcome = _error(type(exc).__name__, exc.code.value, exc.message, **exc.details)
    assert outcome == expected


def _declared(*names: str) -> list[Tool]:
    area = ToolSet()
    for name in names:
        area.read(name, "Changes nothing.", arguments([]))(lambda call: ToolResult("done"))
    return list(area)


def test_every_declared_tool_is_listed_once() -> None:
    registry = Registry.listing(_declared("think", "calculate"), ["calculate", "think"])
    assert list(registry.tools) == ["calculate", "think"]
    with pytest.raises(ValueError, match=r"not listed \['think'\]"):
        Registry.listing(_declared("think", "calculate"), ["calculate"])
    with pytest.raises(ValueError, match=r"not declared \['plan_case'\]"):
        Registry.listing(_declared("think"), ["think", "plan_case"])
    with pytest.raises(ValueError, match="listing order must name every declared tool once"):
        Registry.listing(_declared("think"), ["think", "think"])
    with pytest.raises(ValueError, match="the tool think is declared twice"):
        Registry.listing(_declared("think", "think"), ["think"])
