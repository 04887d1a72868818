"""Repositories for agents, teams, API tokens and console sessions.

Read by nearly every request, the API tokens (every call checks one), the agents (a token's,
a session's, whoever work is given to) and the teams (named by routing, pages and grants) are
kept per process (config_cache.py, kinds `tokens`, `agents`, `teams`): every write to one moves
its kind's stamp. A team is never renamed or removed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.config_cache import Cached, ConfigKind, ConfigReads, copied
from caredesk.adapters.db.rows import (
    TableRepository,
    add_row,
    from_row,
    insert,
    listed,
    onto_row,
    update_fields,
)
from caredesk.domain.agents import Agent, Team
from caredesk.domain.rates import Rate
from caredesk.domain.tokens import ApiToken, ConsoleSession


def _agent_onto(agent: Agent, row: m.AgentRow) -> m.AgentRow:
    # An agent's teams are rows of their own (_set_teams).
    return onto_row(agent, row, skip=("id", "team_ids"))


def _all_agents(session: OrmSession) -> Mapping[int, Agent]:
    memberships: dict[int, list[int]] = {}
    for agent_id, team_id in session.execute(
        select(m.AgentTeamRow.agent_id, m.AgentTeamRow.team_id).order_by(m.AgentTeamRow.team_id)
    ):
        memberships.setdefault(agent_id, []).append(team_id)
    rows = session.scalars(select(m.AgentRow).order_by(m.AgentRow.id))
    return MappingProxyType(
        {r.id: mapping.agent_from_row(r, memberships.get(r.id, [])) for r in rows}
    )


_AGENTS = Cached(ConfigKind.AGENTS, _all_agents)


class SqlAgentRepository:
    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        self.session = session
        self.config = config

    def add(self, agent: Agent) -> None:
        row = insert(self.session, _agent_onto(agent, m.AgentRow(created_at=func.now())))
        agent.id = row.id
        self._set_teams(row.id, agent.team_ids)

    def _set_teams(self, agent_id: int, team_ids: list[int]) -> None:
        self.session.execute(delete(m.AgentTeamRow).where(m.AgentTeamRow.agent_id == agent_id))
        self.session.add_all([m.AgentTeamRow(agent_id=agent_id, team_id=t) for t in team_ids])
        self.session.flush()
        self.config.changed(ConfigKind.AGENTS)

    def get(self, agent_id: int) -> Agent | None:
        agent = self.config.get(_AGENTS).get(agent_id)
        return copied(agent) if agent is not None else None

    def get_by_email(self, email: str) -> Agent | None:
        # Asked when signing in or adding an agent, and compared as the database lowercases.
        row = self.session.scalar(
            select(m.AgentRow).where(func.lower(m.AgentRow.email) == email.strip().lower())
        )
        return mapping.agent_from_row(row, self._team_ids(row.id)) if row else None

    def _team_ids(self, agent_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(m.AgentTeamRow.team_id)
                .where(m.AgentTeamRow.agent_id == agent_id)
                .order_by(m.AgentTeamRow.team_id)
            )
        )

    def save(self, agent: Agent) -> None:
        assert agent.id is not None
        row = self.session.get(m.AgentRow, agent.id)
        assert row is not None
        _agent_onto(agent, row)
        self._set_teams(agent.id, agent.team_ids)

    def all(self) -> list[Agent]:
        return [copied(a) for a in self.config.get(_AGENTS).values()]


def _all_teams(session: OrmSession) -> tuple[Team, ...]:
    return tuple(listed(session, Team, m.TeamRow, order_by=m.TeamRow.name))


_TEAMS = Cached(ConfigKind.TEAMS, _all_teams)


class SqlTeamRepository:
    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        self.session = session
        self.config = config

    def add(self, team: Team) -> None:
        add_row(self.session, team, m.TeamRow())
        self.config.changed(ConfigKind.TEAMS)

    def get(self, team_id: int) -> Team | None:
        return next((copied(t) for t in self.config.get(_TEAMS) if t.id == team_id), None)

    def get_by_name(self, name: str) -> Team | None:
        return next((copied(t) for t in self.config.get(_TEAMS) if t.name == name), None)

    def all(self) -> list[Team]:
        return [copied(t) for t in self.config.get(_TEAMS)]


def _token(row: m.ApiTokenRow) -> ApiToken:
    rate_limit = Rate.parse(row.rate_limit) if row.rate_limit else None
    return from_row(ApiToken, row, rate_limit=rate_limit)


def _tokens_by_hash(session: OrmSession) -> Mapping[str, ApiToken]:
    rows = session.scalars(select(m.ApiTokenRow))
    return MappingProxyType({r.token_hash: _token(r) for r in rows})


_TOKENS = Cached(ConfigKind.TOKENS, _tokens_by_hash)


class SqlTokenRepository(TableRepository[ApiToken, m.ApiTokenRow]):
    entity, table = ApiToken, m.ApiTokenRow

    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        super().__init__(session)
        self.config = config

    def read(self, row: m.ApiTokenRow) -> ApiToken:
        return _token(row)

    def add(self, token: ApiToken) -> None:
        rate_limit = str(token.rate_limit) if token.rate_limit else None
        add_row(self.session, token, m.ApiTokenRow(), rate_limit=rate_limit)
        self.config.changed(ConfigKind.TOKENS)

    def get_by_hash(self, token_hash: str) -> ApiToken | None:
        token = self.config.get(_TOKENS).get(token_hash)
        return copied(token) if token is not None else None

    def save(self, token: ApiToken) -> None:
        self.session.execute(
            update(m.ApiTokenRow)
            .where(m.ApiTokenRow.id == token.id)
            .values(
                name=token.name,
                revoked_at=token.revoked_at,
                expires_at=token.expires_at,
                last_used_at=token.last_used_at,
                # A binding, once made, is never replaced, even by a concurrent save.
                customer_id=func.coalesce(m.ApiTokenRow.customer_id, token.customer_id),
            )
        )
        self.config.changed(ConfigKind.TOKENS)

    def all(self) -> list[ApiToken]:
        return self.listed()

    def record_uses(self, uses: Mapping[int, datetime]) -> None:
        if not uses:
            return
        table = cast(Table, m.ApiTokenRow.__table__)
        # One statement for the batch; a later use recorded meanwhile (another process's
        # batch) is never moved back.
        self.session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("token_id"))
            .where(or_(table.c.last_used_at.is_(None), table.c.last_used_at < bindparam("used_at")))
            .values(last_used_at=bindparam("used_at")),
            [{"token_id": key, "used_at": at} for key, at in uses.items()],
        )
        # Kept tokens say when they were last used as the rows do: a command that records its
        # token's use on the spot (caredesk mcp) reads that to know when to do it again.
        self.config.changed(ConfigKind.TOKENS)


class SqlConsoleSessionRepository(TableRepository[ConsoleSession, m.ConsoleSessionRow]):
    entity, table = ConsoleSession, m.ConsoleSessionRow

    def get_by_hash(self, token_hash: str) -> ConsoleSession | None:
        return self.first(m.ConsoleSessionRow.token_hash == token_hash)

    def save(self, session: ConsoleSession) -> None:
        update_fields(self.session, session, m.ConsoleSessionRow, "expires_at", "revoked_at")
