"""FastAPI dependencies: the container, the clock and who is calling."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from caredesk.bootstrap import Container
from caredesk.domain.agents import Actor
from caredesk.domain.errors import DomainError, ErrorCode, Forbidden, Unauthenticated
from caredesk.domain.rates import Rate
from caredesk.services.access import auth
from caredesk.services.access.secrets import CsrfRealm, csrf_token_for
from caredesk.web.ratelimit import count_caller

SESSION_COOKIE = "caredesk_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# The container and the clock are handed over in the event loop (`async def`): FastAPI runs a
# plain `def` dependency in a worker thread, a hop that costs more than what they do.
async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_now(container: ContainerDep) -> datetime:
    return container.clock.now()


NowDep = Annotated[datetime, Depends(get_now)]


def client_address(request: Request) -> str:
    """The address a request came from (behind a proxy, the one the proxy vouches for: see
    uvicorn's --forwarded-allow-ips); what failed credentials and rate limits count under."""
    return request.client.host if request.client else "unknown"


def tool_actor(request: Request, container: ContainerDep, now: NowDep) -> Actor:
    """Who is calling the tool API: any token, including one limited to tools or a customer."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise DomainError("use 'Authorization: Bearer <token>'", code=ErrorCode.TOKEN_INVALID)
        return token_actor(request, container, now, credential.strip())
    session_secret = request.cookies.get(SESSION_COOKIE)
    if session_secret:
        agent = auth.session_agent(container.uow.read_only(), session_secret, now)
        # Cookies ride along on cross-site requests; a write must prove it came from our pages.
        if request.method not in SAFE_METHODS and request.headers.get(
            CSRF_HEADER
        ) != csrf_token_for(session_secret, CsrfRealm.CONSOLE):
            raise DomainError("missing or wrong CSRF token", code=ErrorCode.CSRF_FAILED)
        actor = agent.actor()
        count_caller(
            request,
            container.rate_limiter,
            Rate.parse(container.settings.rate_limit_per_token),
            f"agent:{actor.agent_id}",
        )
        request.state.actor = actor
        return actor
    raise Unauthenticated("send 'Authorization: Bearer <token>' or sign in")


def token_actor(request: Request, container: Container, now: datetime, secret: str) -> Actor:
    """Who an API token speaks for, its use noted and counted against its rate; unknown,
    expired and revoked tokens count as failures of the client's address."""
    holder = auth.use_token(
        container.uow.read_only(),
        container.uow(),
        secret,
        now,
        client=client_address(request),
        rules=container.throttling,
    )
    container.token_uses.note(holder.token_id, now)
    actor = holder.actor
    count_caller(
        request,
        container.rate_limiter,
        holder.rate_limit or Rate.parse(container.settings.rate_limit_per_token),
        f"token:{actor.token_id}",
    )
    request.state.actor = actor
    return actor


def unscoped(actor: Actor) -> Actor:
    """The actor, unless its token is limited to the tool API."""
    if actor.scoped:
        # The limits of such a token (which tools, which customer) are the tool API's;
        # the rest of the API would let it past them.
        raise Forbidden(
            "this token is limited to the tool API (/api/v1/tools)",
            details={"token_id": actor.token_id},
        )
    return actor


def current_actor(request: Request, container: ContainerDep, now: NowDep) -> Actor:
    return unscoped(tool_actor(request, container, now))


ActorDep = Annotated[Actor, Depends(current_actor)]
ToolActorDep = Annotated[Actor, Depends(tool_actor)]
