"""The report pages' figures: the lead's team view and an agent's own page, each a set of the
measures' reports over one set of filters, so every number a page shows is the API's figure
and links to the same queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import DomainError, Forbidden
from caredesk.services.engine.policy import policy_in_force
from caredesk.services.reports.filters import ReportFilter
from caredesk.services.reports.measures import CATALOGUE
from caredesk.services.reports.reports import Report, report
from caredesk.services.reports.unit import ReportsUnit

# The lead reads every measure, and these by group: the charts by day and remedy, and the
# per-agent table.
TEAM_MEASURES = tuple(m.name for m in CATALOGUE)
TEAM_GROUPED = (
    ("cases_opened", "day"),
    ("first_reply_time", "day"),
    ("resolution_time", "day"),
    ("sla_attainment", "day"),
    ("satisfaction", "day"),
    ("grants", "remedy"),
    ("first_reply_time", "agent"),
    ("sla_attainment", "agent"),
    ("satisfaction", "agent"),
    ("grants", "agent"),
)
# An agent reads their own reply times, SLA attainment, satisfaction and grants.
MY_MEASURES = (
    "cases_opened",
    "cases_solved",
    "first_reply_time",
    "resolution_time",
    "sla_attainment",
    "satisfaction",
    "grants",
)
MY_GROUPED = (
    ("cases_opened", "day"),
    ("first_reply_time", "day"),
    ("sla_attainment", "day"),
    ("grants", "remedy"),
)


@dataclass(frozen=True, slots=True)
class Board:
    """One page's reports. With no case in the period, `cases` is 0 and no report is read:
    the page says so rather than show zeros."""

    filters: ReportFilter
    cases: int
    totals: dict[str, Report] = field(default_factory=dict)
    grouped: dict[tuple[str, str], Report] = field(default_factory=dict)
    # What the filter form offers: the teams and agents by id, the policy's remedies.
    teams: dict[int, str] = field(default_factory=dict)
    agents: dict[int, str] = field(default_factory=dict)
    remedies: tuple[str, ...] = ()
    currency: str = "USD"


def team_board(uow: ReportsUnit, actor: Actor, now: datetime, filters: ReportFilter) -> Board:
    """The lead's dashboard: every measure over the whole desk's filtered cases."""
    actor.require(Permission.APPROVE)
    return _board(uow, actor, now, filters, TEAM_MEASURES, TEAM_GROUPED)


def my_board(uow: ReportsUnit, actor: Actor, now: datetime, filters: ReportFilter) -> Board:
    """An agent's own page: their cases only, whatever agent the filters named."""
    actor.require(Permission.READ)
    if actor.agent_id is None:
        raise Forbidden("only an agent has cases of their own", details={"role": actor.role.value})
    mine = filters.for_agent(actor.agent_id)
    return _board(uow, actor, now, mine, MY_MEASURES, MY_GROUPED)


def _board(
    uow: ReportsUnit,
    actor: Actor,
    now: datetime,
    filters: ReportFilter,
    measures: tuple[str, ...],
    grouped: tuple[tuple[str, str], ...],
) -> Board:
    with uow:
        teams = {t.id: t.name for t in uow.teams.all() if t.id is not None}
        agents = {a.id: a.name for a in uow.agents.all() if a.id is not None}
        try:
            policy = policy_in_force(uow).policy
            remedies, currency = tuple(sorted(r.id for r in policy.remedies)), policy.currency
        except DomainError:  # no policy loaded yet: no remedy to filter by, nothing granted
            remedies, currency = (), "USD"
        first = report(uow, actor, now, measures[0], filters)
        board = Board(first.filters, first.cases, {}, {}, teams, agents, remedies, currency)
        if first.cases == 0:
            return board
        board.totals[measures[0]] = first
        for name in measures[1:]:
            board.totals[name] = report(uow, actor, now, name, filters)
        for name, group_by in grouped:
            board.grouped[(name, group_by)] = report(uow, actor, now, name, filters, group_by)
    return board
