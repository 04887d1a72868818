"""The demo desk itself: its policy, its business calendar and SLA policies, its teams and
agents, set up through the services before any case arrives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import yaml

from caredesk.demo.schema import Person
from caredesk.demo.tables import policy_data, service_level_data, staff_data
from caredesk.domain.agents import SYSTEM, Actor, Agent, Role
from caredesk.domain.calendars import Clockwork
from caredesk.domain.events import Changed
from caredesk.services.access import auth
from caredesk.services.engine import policy
from caredesk.services.sla import sla
from caredesk.services.unit_of_work import UnitOfWorkFactory


def demo_policy_text() -> str:
    """The default policy plus the demo's programs (the old label printer's upgrade)."""
    additions = policy_data()
    data: dict[str, Any] = yaml.safe_load(policy.packaged_policy_text("default"))
    data["version"] = f"{data['version']}{additions.version_suffix}"
    data["programs"] = [program.model_dump(mode="json") for program in additions.programs]
    return yaml.safe_dump(data, sort_keys=False)


def service_levels(
    uow_factory: UnitOfWorkFactory, now: datetime, timezone: str, history_days: int
) -> Clockwork:
    """The business calendar and one SLA policy per priority, in force since before the
    history starts, so every case the demo opens runs its clocks."""
    data = service_level_data()
    since = now - timedelta(days=history_days + 1)
    years = range(since.year, now.year + 2)
    calendar = sla.create_calendar(
        uow_factory(),
        SYSTEM,
        since,
        name=data.calendar.name,
        timezone=timezone,
        hours=data.calendar.opening_hours,
        holidays=[
            date(year, month, day) for year in years for month, day in data.calendar.holidays
        ],
    )
    for position, targets in enumerate(data.policies, start=1):
        sla.create_policy(
            uow_factory(),
            SYSTEM,
            since,
            name=targets.name,
            targets={
                "first_reply": targets.first_reply,
                "next_reply": targets.next_reply,
                "resolution": targets.resolution,
            },
            calendar_id=calendar.id if targets.business_hours else None,
            match={"priorities": [targets.priority.value]},
            position=position * 10,
        )
    return calendar


@dataclass(frozen=True, slots=True)
class Staff:
    team_ids: dict[str, int]
    agent_ids: dict[str, int]
    logins: list[tuple[str, str]]

    def actor(self, email: str, role: Role = Role.AGENT) -> Actor:
        return Actor(role=role, agent_id=self.agent_ids[email])

    def members(self, team: str) -> list[str]:
        return staff_data().agents(team)


def _teams(uow_factory: UnitOfWorkFactory, now: datetime) -> dict[str, int]:
    with uow_factory() as uow:
        known = {t.name: t.id for t in uow.teams.all() if t.id is not None}
    team_ids = {}
    for name in staff_data().teams:
        team_id = known.get(name)
        if team_id is None:
            team_id = auth.create_team(uow_factory(), SYSTEM, now, name).id
        assert team_id is not None
        team_ids[name] = team_id
    return team_ids


def build_staff(
    uow_factory: UnitOfWorkFactory, now: datetime, admin_email: str, password_hash: str
) -> Staff:
    """Teams through the service; agents written directly, because `create_agent` hashes."""
    data = staff_data()
    team_ids = _teams(uow_factory, now)
    admin = Person(email=admin_email, name=data.admin_name, role=Role.ADMIN, teams=data.teams)
    people = (admin, *data.roster)
    agent_ids: dict[str, int] = {}
    with uow_factory() as uow:
        for person in people:
            existing = uow.agents.get_by_email(person.email)
            if existing is not None and existing.id is not None:
                agent_ids[person.email] = existing.id
                continue
            agent = Agent(
                id=None,
                email=person.email,
                name=person.name,
                role=person.role,
                password_hash=password_hash,
                team_ids=[team_ids[t] for t in person.teams],
            )
            uow.agents.add(agent)
            assert agent.id is not None
            agent_ids[person.email] = agent.id
            uow.publish(
                Changed(
                    actor=SYSTEM,
                    at=now,
                    action="agent.created",
                    entity_type="agent",
                    entity_id=agent.id,
                    after={
                        "email": agent.email,
                        "role": agent.role.value,
                        "team_ids": agent.team_ids,
                    },
                )
            )
        uow.commit()
    logins = [(p.email, p.role.value) for p in people]
    return Staff(team_ids, agent_ids, logins)
