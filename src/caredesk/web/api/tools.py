"""The tool API for AI agents: list the tools a token may use, and run one.

A policy refusal is an answer, not an error: it comes back with status 200, `"status":
"refused"`, the stable `code` and the `rule` that refused, so an agent can explain it. A
malformed call (unknown tool, missing or mistyped argument) is a problem+json error.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Header, Path

from caredesk.services.channels.tools import Registry, ToolCall, build_registry
from caredesk.web.api.schemas.tools import ToolCallIn, ToolOut, ToolResultOut
from caredesk.web.deps import ContainerDep, NowDep, ToolActorDep
from caredesk.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["tools"])


@lru_cache(maxsize=1)
def registry() -> Registry:
    return build_registry()


@router.get("/tools")
def list_tools(actor: ToolActorDep) -> list[ToolOut]:
    return [
        ToolOut(name=t.name, description=t.description, parameters=t.parameters, writes=t.writes)
        for t in registry().visible_to(actor)
    ]


@router.post("/tools/{name}")
def run_tool(
    name: Annotated[str, Path(max_length=80)],
    body: ToolCallIn,
    actor: ToolActorDep,
    container: ContainerDep,
    now: NowDep,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> ToolResultOut:
    call = ToolCall(
        uow=container.uow,
        actor=actor,
        now=now,
        arguments=body.arguments,
        confirmed=body.confirmed,
        idempotency_key=idempotency_key,
    )
    return ToolResultOut.of(registry().run(name, call))
