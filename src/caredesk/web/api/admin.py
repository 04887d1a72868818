"""Agents, teams, API tokens, and console sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from caredesk.services.access import auth
from caredesk.services.access.secrets import CsrfRealm, csrf_token_for
from caredesk.web.api.common import SmallIdPath, fields_of
from caredesk.web.api.schemas.admin import (
    AgentChangeIn,
    AgentIn,
    AgentOut,
    IssuedTokenOut,
    LoginIn,
    MeOut,
    SessionOut,
    TeamIn,
    TeamOut,
    TokenIn,
    TokenOut,
)
from caredesk.web.api.schemas.cases import AuditEventOut
from caredesk.web.deps import SESSION_COOKIE, ActorDep, ContainerDep, NowDep
from caredesk.web.idempotency import IdempotentRoute
from caredesk.web.sessions import set_session_cookie, start_session

router = APIRouter(route_class=IdempotentRoute)


@router.get("/teams", tags=["teams"])
def list_teams(actor: ActorDep, container: ContainerDep) -> list[TeamOut]:
    return [TeamOut.of(t) for t in auth.list_teams(container.uow.read_only(), actor)]


@router.post("/teams", status_code=status.HTTP_201_CREATED, tags=["teams"])
def create_team(body: TeamIn, actor: ActorDep, container: ContainerDep, now: NowDep) -> TeamOut:
    return TeamOut.of(auth.create_team(container.uow(), actor, now, body.name))


@router.get("/agents", tags=["agents"])
def list_agents(actor: ActorDep, container: ContainerDep) -> list[AgentOut]:
    return [AgentOut.of(a) for a in auth.list_agents(container.uow.read_only(), actor)]


@router.post("/agents", status_code=status.HTTP_201_CREATED, tags=["agents"])
def create_agent(body: AgentIn, actor: ActorDep, container: ContainerDep, now: NowDep) -> AgentOut:
    agent = auth.create_agent(
        container.uow(),
        actor,
        container.hasher,
        now,
        email=str(body.email),
        name=body.name,
        role=body.role,
        password=body.password,
        team_names=body.teams,
    )
    return AgentOut.of(agent)


@router.patch("/agents/{agent_id}", tags=["agents"])
def change_agent(
    agent_id: SmallIdPath,
    body: AgentChangeIn,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
) -> AgentOut:
    """Set the time zone an agent reads times in (the agent themselves, or an admin)."""
    agent = auth.set_time_zone(container.uow(), actor, now, agent_id, body.time_zone)
    return AgentOut.of(agent)


@router.post("/agents/{agent_id}/unlock", tags=["agents"])
def unlock_agent(
    agent_id: SmallIdPath, actor: ActorDep, container: ContainerDep, now: NowDep
) -> AgentOut:
    """Lift the agent's sign-in lock after too many failed sign-ins (admins; audited)."""
    return AgentOut.of(auth.unlock_agent(container.uow(), actor, now, agent_id))


@router.get("/agents/{agent_id}/audit", tags=["agents"])
def agent_audit(
    agent_id: SmallIdPath, actor: ActorDep, container: ContainerDep
) -> list[AuditEventOut]:
    """The agent's audit trail: failed sign-ins, locks, unlocks and changes (admins)."""
    events = auth.agent_audit_trail(container.uow.read_only(), actor, agent_id)
    return [AuditEventOut.of(e) for e in events]


@router.get("/tokens", tags=["tokens"])
def list_tokens(actor: ActorDep, container: ContainerDep) -> list[TokenOut]:
    return [TokenOut.of(t) for t in auth.list_tokens(container.uow.read_only(), actor)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED, tags=["tokens"])
def create_token(
    body: TokenIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> IssuedTokenOut:
    issued = auth.create_token(container.uow(), actor, now, **fields_of(body))
    return IssuedTokenOut.of(issued.token, token=issued.secret)


@router.delete("/tokens/{token_id}", tags=["tokens"])
def revoke_token(
    token_id: SmallIdPath, actor: ActorDep, container: ContainerDep, now: NowDep
) -> TokenOut:
    return TokenOut.of(auth.revoke_token(container.uow(), actor, now, token_id))


@router.post("/auth/login", tags=["auth"])
def login(
    body: LoginIn, request: Request, response: Response, container: ContainerDep, now: NowDep
) -> SessionOut:
    issued = start_session(request, container, now, body.email, body.password)
    set_session_cookie(response, container, issued.secret)
    return SessionOut(
        agent=AgentOut.of(issued.agent),
        csrf_token=csrf_token_for(issued.secret, CsrfRealm.CONSOLE),
        expires_at=issued.session.expires_at,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
def logout(request: Request, actor: ActorDep, container: ContainerDep, now: NowDep) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        auth.logout(container.uow(), secret, now)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", tags=["auth"])
def me(actor: ActorDep, container: ContainerDep) -> MeOut:
    agent = None
    if actor.agent_id is not None:
        agent = next(
            (
                a
                for a in auth.list_agents(container.uow.read_only(), actor)
                if a.id == actor.agent_id
            ),
            None,
        )
    return MeOut(
        role=actor.role, agent=AgentOut.of(agent) if agent else None, token_id=actor.token_id
    )
