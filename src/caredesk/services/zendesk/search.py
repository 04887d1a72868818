"""Zendesk search over the desk: a query in Zendesk's language (query.py) becomes the case
list's filters, or a look-up of customers and agents by name and email."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from caredesk.domain.agents import Actor, Agent, Permission
from caredesk.domain.cases import Case
from caredesk.domain.customers import Customer
from caredesk.services.access.ports import HasAgents, HasTeams
from caredesk.services.cases.ports import CaseFilter, HasCases, HasCustomers
from caredesk.services.core.ports import Transaction
from caredesk.services.zendesk.ports import HasUserIds
from caredesk.services.zendesk.query import (
    PRIORITY_ORDER,
    STATUS_ORDER,
    SearchQuery,
    TicketCriteria,
    ticket_criteria,
)

# Zendesk answers at most this many results of one search; so does the desk.
RESULTS_MAX = 1000


class SearchUnit(HasCases, HasCustomers, HasAgents, HasTeams, HasUserIds, Transaction, Protocol):
    """Cases, and the people and teams a query names."""


@dataclass(frozen=True, slots=True)
class TicketHits:
    cases: list[Case]
    count: int


@dataclass(frozen=True, slots=True)
class UserHits:
    agents: list[Agent]
    customers: list[Customer]

    @property
    def count(self) -> int:
        return len(self.agents) + len(self.customers)


class _NoMatch(Exception):
    """A person or group the query names does not exist: nothing can match."""


def _user_id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


def _requester(uow: SearchUnit, value: str) -> str:
    user_id = _user_id(value)
    if user_id is not None:
        ref = uow.zendesk_users.people({user_id}).get(user_id)
        if ref is None or ref.customer_id is None:
            raise _NoMatch
        return ref.customer_id
    owner = uow.customers.email_owner(value.lower())
    if owner is None:
        raise _NoMatch
    return owner


def _assignee(uow: SearchUnit, value: str) -> int:
    user_id = _user_id(value)
    if user_id is not None:
        ref = uow.zendesk_users.people({user_id}).get(user_id)
        agent_id = None if ref is None else ref.agent_id
    else:
        agent = uow.agents.get_by_email(value.lower())
        agent_id = None if agent is None else agent.id
    if agent_id is None:
        raise _NoMatch
    return agent_id


def _team(uow: SearchUnit, value: str) -> int:
    team = uow.teams.get(int(value)) if _user_id(value) is not None else None
    team = team or uow.teams.get_by_name(value)
    if team is None or team.id is None:
        raise _NoMatch
    return team.id


def _filters(uow: SearchUnit, asked: TicketCriteria) -> CaseFilter:
    unassigned = asked.assignee is not None and asked.assignee.lower() == "none"
    return CaseFilter(
        status=() if asked.statuses == STATUS_ORDER else asked.statuses,
        priority=() if asked.priorities == PRIORITY_ORDER else asked.priorities,
        tags_any=asked.tags_any,
        tags_none=asked.tags_none,
        customer_id=None if asked.requester is None else _requester(uow, asked.requester),
        unassigned=unassigned,
        assignee_id=None
        if asked.assignee is None or unassigned
        else _assignee(uow, asked.assignee),
        team_id=None if asked.group is None else _team(uow, asked.group),
        created_from=asked.created.start,
        created_before=asked.created.end,
        updated_since=asked.updated.start,
        updated_before=asked.updated.end,
        text=asked.text,
        text_absent=asked.excluded_words,
    )


def search_tickets(
    uow: SearchUnit, actor: Actor, now: datetime, query: SearchQuery, limit: int
) -> TicketHits:
    """The first `limit` matching cases, newest updated first, and how many match."""
    actor.require(Permission.READ)
    asked = ticket_criteria(query, now)
    if not asked.statuses or not asked.priorities:
        return TicketHits([], 0)
    with uow:
        try:
            filters = _filters(uow, asked)
        except _NoMatch:
            return TicketHits([], 0)
        found = uow.cases.find(filters, limit, None).items if limit else []
        return TicketHits(found, uow.cases.count(filters))


def _agent_matches(agent: Agent, needle: str) -> bool:
    return needle in agent.name.lower() or needle in agent.email.lower()


def search_users(uow: SearchUnit, actor: Actor, query: SearchQuery) -> UserHits:
    """Agents, then customers, whose name or email holds the query's words (every agent and
    customer for none), up to RESULTS_MAX together. Keywords other than `type` are ignored."""
    actor.require(Permission.READ)
    needle = " ".join(query.words).strip().lower()
    with uow:
        agents = [a for a in uow.agents.all() if _agent_matches(a, needle)][:RESULTS_MAX]
        agents.sort(key=lambda a: a.id or 0)
        room = RESULTS_MAX - len(agents)
        customers = uow.customers.search(needle or None, room, None).items if room else []
        return UserHits(agents, customers)


# The orders Zendesk's `sort_by` names; a case's `ticket_type` is always a question here.
SORT_KEYS = ("updated_at", "created_at", "priority", "status")


def sorted_cases(found: list[Case], sort_by: str, descending: bool) -> list[Case]:
    """The cases in the order asked, ties broken by id in the same direction."""
    if sort_by == "priority":
        return sorted(
            found, key=lambda c: (PRIORITY_ORDER.index(c.priority), c.id or 0), reverse=descending
        )
    if sort_by == "status":
        return sorted(
            found, key=lambda c: (STATUS_ORDER.index(c.status), c.id or 0), reverse=descending
        )
    if sort_by == "created_at":
        return sorted(found, key=lambda c: (c.created_at, c.id or 0), reverse=descending)
    return sorted(found, key=lambda c: (c.updated_at, c.id or 0), reverse=descending)
