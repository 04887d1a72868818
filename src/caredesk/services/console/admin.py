"""The administration page: agents, teams, API tokens and the policy's versions."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.domain.agents import Actor, Agent, Permission, Team
from caredesk.domain.grants import PolicyVersion
from caredesk.domain.tokens import ApiToken
from caredesk.services.console.unit import ConsoleUnit


@dataclass(frozen=True, slots=True)
class AdminScreen:
    agents: list[Agent]
    teams: list[Team]
    tokens: list[ApiToken]
    policies: list[PolicyVersion]


def admin_screen(uow: ConsoleUnit, actor: Actor) -> AdminScreen:
    actor.require(Permission.MANAGE_AGENTS)
    with uow:
        return AdminScreen(
            agents=uow.agents.all(),
            teams=uow.teams.all(),
            tokens=uow.tokens.all() if actor.can(Permission.MANAGE_TOKENS) else [],
            policies=uow.policies.history(),
        )
