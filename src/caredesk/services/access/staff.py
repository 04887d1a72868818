"""Who work can be given to: an agent still at the desk, a team that exists."""

from __future__ import annotations

from caredesk.domain.agents import Agent
from caredesk.domain.errors import NotFound
from caredesk.services.access.ports import HasAgents, HasTeams


def active_agent(uow: HasAgents, agent_id: int) -> Agent:
    """The agent; a deactivated one is as unknown as one never added."""
    agent = uow.agents.get(agent_id)
    if agent is None or not agent.active:
        raise NotFound("agent", agent_id)
    return agent


def check_team(uow: HasTeams, team_id: int) -> None:
    if uow.teams.get(team_id) is None:
        raise NotFound("team", team_id)
