"""`caredesk mcp`: the tool API as a Model Context Protocol server over stdio.

The token given decides everything: its role, the tools it may use, and the customer it
acts for. A token not bound to a customer binds this session to the customer that the
first successful `find_user_id_by_*` call verifies, and to no one else afterwards (a
token limited to tools is bound for good, as over HTTP); before that, no tool reads or
changes any customer's records. The services behind the tools check that customer, so
the session's binding is all this server adds.

A refusal (policy, rule, invariant) is a normal result with `status: refused`, its `code`
and `rule`, as over HTTP; a malformed or forbidden call is an MCP error result
(`isError`) with `status: error` and the code the HTTP API would put in its problem.

Tool calls count against the token's rate (its own, or the desk's per-token default) in the
same counts as its HTTP requests; past it a call is an error with code `rate_limited` and
`retry_after` seconds, and runs nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from caredesk import __version__
from caredesk.bootstrap import Container, start_rate_limiter
from caredesk.domain.agents import Actor
from caredesk.domain.errors import DomainError, ErrorCode, RetryLater, ValidationFailed
from caredesk.domain.rates import Rate
from caredesk.services.access import auth
from caredesk.services.channels.tools import Registry, ToolCall, build_registry


class ToolSession:
    """One MCP session: the token (checked again on every call, so a revocation ends the
    session), and the customer this session verified."""

    def __init__(self, container: Container, token: str, registry: Registry) -> None:
        self.container = container
        self.token = token
        self.registry = registry
        self.customer_id: str | None = None
        self.limiter = start_rate_limiter(container)
        self.actor()  # a bad token fails the start, not the first call

    def holder(self) -> auth.TokenHolder:
        return auth.identify_token(self.container.uow(), self.token, self.container.clock.now())

    def actor(self, holder: auth.TokenHolder | None = None) -> Actor:
        actor = (holder or self.holder()).actor
        if actor.customer_id is None and self.customer_id is not None:
            actor = replace(actor, customer_id=self.customer_id)
        return actor

    def count_call(self, holder: auth.TokenHolder) -> None:
        if self.limiter is None:
            return
        rate = holder.rate_limit or Rate.parse(self.container.settings.rate_limit_per_token)
        verdict = self.limiter.hit(rate, f"token:{holder.actor.token_id}")
        if verdict is not None and not verdict.allowed:
            raise RetryLater(
                f"too many tool calls ({rate}); try again in {verdict.reset_after} seconds",
                code=ErrorCode.RATE_LIMITED,
                retry_after=verdict.reset_after,
            )

    def list_tools(self) -> list[types.Tool]:
        return [
            types.Tool(
                name=t.name, description=t.description, inputSchema=_schema(t.parameters, t.writes)
            )
            for t in self.registry.visible_to(self.actor())
        ]

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        confirmed = arguments.pop("confirmed", False)
        try:
            if not isinstance(confirmed, bool):
                raise ValidationFailed(
                    "confirmed must be true or false", details={"field": "confirmed"}
                )
            holder = self.holder()
            self.count_call(holder)
            actor = self.actor(holder)
            call = ToolCall(
                uow=self.container.uow,
                actor=actor,
                now=self.container.clock.now(),
                arguments=arguments,
                confirmed=confirmed,
            )
            result = self.registry.run(name, call)
        except RetryLater as exc:
            return {
                "status": "error",
                "code": exc.code.value,
                "message": exc.message,
                "retry_after": exc.retry_after,
            }
        except DomainError as exc:
            return {"status": "error", "code": exc.code.value, "message": exc.message}
        if result.verified_customer_id and actor.customer_id is None:
            self.customer_id = result.verified_customer_id
        return {
            "status": result.status,
            "result": result.result,
            "code": result.code,
            "rule": result.rule,
            "message": result.message,
        }


def _schema(parameters: dict[str, Any], writes: bool) -> dict[str, Any]:
    """Write tools take the customer's explicit yes as an argument over MCP."""
    if not writes:
        return parameters
    confirmed = {"type": "boolean", "description": "The customer explicitly said yes."}
    return {**parameters, "properties": {**parameters["properties"], "confirmed": confirmed}}


def build_server(session: ToolSession) -> Server[Any]:
    async def on_list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=await anyio.to_thread.run_sync(session.list_tools))

    async def on_call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        answer = await anyio.to_thread.run_sync(
            session.call, params.name, dict(params.arguments or {})
        )
        return types.CallToolResult(
            content=[types.TextContent(text=json.dumps(answer, default=str))],
            structuredContent=answer,
            isError=answer["status"] == "error",
        )

    return Server(
        "caredesk", version=__version__, on_list_tools=on_list_tools, on_call_tool=on_call_tool
    )


def serve(container: Container, token: str) -> None:
    session = ToolSession(container, token, build_registry())
    server = build_server(session)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
