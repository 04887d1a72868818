"""Agents, teams, API tokens, and console sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from caredesk.services.access import auth
from caredesk.services.access.secrets import CsrfRealm, csrf_token_for
from caredesk.web.api.common import Call, SmallIdPath, fields_of
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
from caredesk.web.deps import SESSION_COOKIE, ContainerDep, NowDep
from caredesk.web.idempotency import IdempotentRoute
from caredesk.web.sessions import set_session_cookie, start_session

router = APIRouter(route_class=IdempotentRoute)


@router.get("/teams", tags=["teams"])
def list_teams(call: Call) -> list[TeamOut]:
    return [TeamOut.of(t) for t in call.read(auth.list_teams)]


@router.post("/teams", status_code=status.HTTP_201_CREATED, tags=["teams"])
def create_team(body: TeamIn, call: Call) -> TeamOut:
    return TeamOut.of(call.run(auth.create_team, body.name))


@router.get("/agents", tags=["agents"])
def list_agents(call: Call) -> list[AgentOut]:
    return [AgentOut.of(a) for a in call.read(auth.list_agents)]


@router.post("/agents", status_code=status.HTTP_201_CREATED, tags=["agents"])
def create_agent(body: AgentIn, call: Call) -> AgentOut:
    agent = auth.create_agent(
        call.container.uow(),
        call.actor,
        call.container.hasher,
        call.now(),
        email=str(body.email),
        name=body.name,
        role=body.role,
        password=body.password,
        team_names=body.teams,
    )
    return AgentOut.of(agent)


@router.patch("/agents/{agent_id}", tags=["agents"])
def change_agent(agent_id: SmallIdPath, body: AgentChangeIn, call: Call) -> AgentOut:
    """Set the time zone an agent reads times in, or whether a lead is mailed the weekly
    summary (the agent themselves, or an admin); only the fields sent change."""
    agent = call.run(auth.change_agent, agent_id, body.change())
    return AgentOut.of(agent)


@router.post("/agents/{agent_id}/unlock", tags=["agents"])
def unlock_agent(agent_id: SmallIdPath, call: Call) -> AgentOut:
    """Lift the agent's sign-in lock after too many failed sign-ins (admins; audited)."""
    return AgentOut.of(call.run(auth.unlock_agent, agent_id))


@router.get("/agents/{agent_id}/audit", tags=["agents"])
def agent_audit(agent_id: SmallIdPath, call: Call) -> list[AuditEventOut]:
    """The agent's audit trail: failed sign-ins, locks, unlocks and changes (admins)."""
    events = call.read(auth.agent_audit_trail, agent_id)
    return [AuditEventOut.of(e) for e in events]


@router.get("/tokens", tags=["tokens"])
def list_tokens(call: Call) -> list[TokenOut]:
    return [TokenOut.of(t) for t in call.read(auth.list_tokens)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED, tags=["tokens"])
def create_token(body: TokenIn, call: Call) -> IssuedTokenOut:
    issued = call.run(auth.create_token, **fields_of(body))
    return IssuedTokenOut.of(issued.token, token=issued.secret)


@router.delete("/tokens/{token_id}", tags=["tokens"])
def revoke_token(token_id: SmallIdPath, call: Call) -> TokenOut:
    return TokenOut.of(call.run(auth.revoke_token, token_id))


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
def logout(request: Request, call: Call) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        auth.logout(call.container.uow(), secret, call.now())
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", tags=["auth"])
def me(call: Call) -> MeOut:
    agent = None
    if call.actor.agent_id is not None:
        agent = next(
            (a for a in call.read(auth.list_agents) if a.id == call.actor.agent_id),
            None,
        )
    return MeOut(
        role=call.actor.role,
        agent=AgentOut.of(agent) if agent else None,
        token_id=call.actor.token_id,
    )
