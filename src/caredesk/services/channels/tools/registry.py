"""The machinery every tool shares, written once: what a tool is, how an area declares its
tools, and how a call is checked and run.

A call is checked before its handler runs (the token's tool list, the role's permission,
the arguments against the schema); what the policy or the domain refuses comes back as an
answer with its code and rule, not as an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from caredesk.domain.agents import VERIFY_FIRST_RULE, Actor, Permission
from caredesk.domain.errors import DomainError, ErrorCode, Forbidden, must_exist
from caredesk.services.channels.tools.arguments import validate
from caredesk.services.core.changes import publish_change
from caredesk.services.unit_of_work import UnitOfWorkFactory

Status = Literal["done", "refused"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    uow: UnitOfWorkFactory
    actor: Actor
    now: datetime
    arguments: Mapping[str, Any]
    confirmed: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    status: Status
    result: Any = None
    code: str | None = None
    rule: str | None = None
    message: str | None = None
    verified_customer_id: str | None = None


Handler = Callable[[ToolCall], ToolResult]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: Handler
    writes: bool = False

    @property
    def permission(self) -> Permission:
        """What the caller's role must allow: a tool that changes anything needs the same
        permission as a human agent changing a case."""
        return Permission.WRITE_CASES if self.writes else Permission.READ

    def schema(self) -> dict[str, Any]:
        """The OpenAI/MCP function description of this tool."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


@dataclass
class ToolSet:
    """The tools of one area, each declared by a decorator on its handler:
    `@TOOLS.read(name, description, arguments(...))` or `@TOOLS.write(...)`."""

    declared: list[Tool] = field(default_factory=list)

    def read(
        self, name: str, description: str, parameters: dict[str, Any]
    ) -> Callable[[Handler], Handler]:
        return self.declare(name, description, parameters, writes=False)

    def write(
        self, name: str, description: str, parameters: dict[str, Any]
    ) -> Callable[[Handler], Handler]:
        return self.declare(name, description, parameters, writes=True)

    def declare(
        self, name: str, description: str, parameters: dict[str, Any], *, writes: bool
    ) -> Callable[[Handler], Handler]:
        def add(handler: Handler) -> Handler:
            self.declared.append(Tool(name, description, parameters, handler, writes))
            return handler

        return add

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.declared)


@dataclass
class Registry:
    tools: dict[str, Tool] = field(default_factory=dict)

    @classmethod
    def listing(cls, declared: Iterable[Tool], order: Sequence[str]) -> Registry:
        """The declared tools, listed in `order`, which must name each of them once."""
        by_name: dict[str, Tool] = {}
        for tool in declared:
            if tool.name in by_name:
                raise ValueError(f"the tool {tool.name} is declared twice")
            by_name[tool.name] = tool
        if len(set(order)) != len(order) or set(order) != set(by_name):
            raise ValueError(
                "the listing order must name every declared tool once: "
                f"not listed {sorted(set(by_name) - set(order))}, "
                f"not declared {sorted(set(order) - set(by_name))}"
            )
        registry = cls()
        for name in order:
            registry.add(by_name[name])
        return registry

    def add(self, tool: Tool) -> None:
        self.tools[tool.name] = tool

    def visible_to(self, actor: Actor) -> list[Tool]:
        """The tools this actor may call: its token's list (all when unlimited) and role."""
        return [
            t
            for t in self.tools.values()
            if (actor.tools is None or t.name in actor.tools) and actor.can(t.permission)
        ]

    def run(self, name: str, call: ToolCall) -> ToolResult:
        """Run one tool. A malformed or forbidden call raises; anything the policy or the
        domain refuses comes back as a `refused` result with its code and rule.

        Every call is part of a tool session: the services it reaches let it see and change
        only the customer its token is bound to or that it verified, and nobody before that.
        """
        tool = must_exist(self.tools.get(name), "tool", name)
        if call.actor.tools is not None and name not in call.actor.tools:
            raise Forbidden(f"this token may not use the tool {name}", details={"tool": name})
        call.actor.require(tool.permission)
        validate(tool.parameters, call.arguments)
        call = replace(call, actor=replace(call.actor, tool_session=True))
        try:
            result = tool.handler(call)
            if result.verified_customer_id is not None:
                _bind_on_verification(call, result.verified_customer_id)
            return result
        except DomainError as exc:
            if exc.code in (ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN):
                raise
            rule = exc.details.get("rule") if exc.details else None
            message = exc.message
            if rule == VERIFY_FIRST_RULE:
                message = _how_to_verify(call.actor)
            return ToolResult("refused", None, exc.code.value, str(rule) if rule else None, message)


def _how_to_verify(actor: Actor) -> str:
    message = "identify the customer first (find_user_id_by_email or find_user_id_by_name_zip)"
    if actor.tools is None:
        # Over HTTP a general-purpose token is never narrowed by a lookup (see below).
        message += "; over HTTP, with a token limited to tools or issued for the customer"
    return message


def _bind_on_verification(call: ToolCall, customer_id: str) -> None:
    """A token limited to tools is an agent's tool session: the customer it verifies first
    is the only one it may act for from then on. A general-purpose token is not narrowed
    behind its owner's back; it must be issued bound (`--customer`) to change anything."""
    actor = call.actor
    if actor.customer_id is not None or actor.token_id is None or actor.tools is None:
        return
    with call.uow() as uow:
        token = must_exist(uow.tokens.get(actor.token_id), "token", actor.token_id)
        if token.customer_id == customer_id:
            return
        token.bind_customer(customer_id)
        uow.tokens.save(token)
        publish_change(
            uow,
            actor,
            call.now,
            "token.bound",
            "token",
            token.id,
            before={"customer_id": None},
            after={"customer_id": customer_id},
        )
        uow.commit()
