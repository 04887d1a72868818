"""The manager's dashboard: volume, reply and resolution times, grants, SLA and satisfaction."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import DomainError, ValidationFailed
from caredesk.domain.money import ZERO
from caredesk.services.console.ports import CaseTiming, GrantFact
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.engine.policy import policy_in_force

SURVEYS_READ = 10_000


@dataclass(frozen=True, slots=True)
class DailyFigure:
    day: date
    value: float


# Costs posted by bundles granted before ledger entries named their remedy.
UNATTRIBUTED = "(not recorded by remedy)"


@dataclass(frozen=True, slots=True)
class Dashboard:
    since: datetime
    days: int
    volume: list[DailyFigure]
    first_reply_hours: list[DailyFigure]
    resolution_hours: list[DailyFigure]
    grants_by_remedy: list[tuple[str, int, Decimal]]
    service_levels: dict[int, int]
    cases: int
    replied: int
    solved: int
    grant_cost: Decimal
    median_first_reply_hours: float | None
    median_resolution_hours: float | None
    # Filled by features that measure them (SLA clocks, satisfaction surveys) when present.
    extra_series: dict[str, list[DailyFigure]] = field(default_factory=dict)
    sla_met_share: float | None = None
    satisfaction_average: float | None = None
    currency: str = "USD"


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


V = TypeVar("V")


def _daily(
    values: list[tuple[date, V]], days: list[date], figure: Callable[[list[V]], float]
) -> list[DailyFigure]:
    """One figure a day from that day's values; a day without any reads 0."""
    by_day: dict[date, list[V]] = {}
    for day, value in values:
        by_day.setdefault(day, []).append(value)
    return [DailyFigure(day, figure(by_day[day]) if day in by_day else 0.0) for day in days]


def _share(outcomes: list[bool]) -> float:
    return round(100 * sum(outcomes) / len(outcomes), 1)


def _mean(values: list[float]) -> float:
    return round(statistics.mean(values), 2)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def dashboard(uow: ConsoleUnit, actor: Actor, now: datetime, days: int = 30) -> Dashboard:
    actor.require(Permission.APPROVE)
    if not 1 <= days <= 366:
        raise ValidationFailed("days must be between 1 and 366", details={"field": "days"})
    start_day = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(start_day, datetime.min.time(), tzinfo=now.tzinfo)
    calendar = [start_day + timedelta(days=i) for i in range(days)]
    with uow:
        timings = uow.console.case_timings(since)
        granted = uow.console.executed_grants(since)
        remedy_costs = uow.console.grant_cost_by_remedy(since)
        sla_outcomes = uow.console.sla_outcomes(since)
        surveys = uow.portal.surveys(answered_since=since, limit=SURVEYS_READ)
        try:
            currency = policy_in_force(uow).policy.currency
        except DomainError:  # no policy loaded yet: amounts read as the default currency's
            currency = "USD"
    # The volume comes from the same rows as the timings: one pass over the period's cases.
    per_day: dict[date, int] = {}
    for t in timings:
        per_day[t.created_at.date()] = per_day.get(t.created_at.date(), 0) + 1
    answered = [
        (s.answered_at.date(), float(s.score))
        for s in surveys
        if s.answered_at is not None and s.score is not None
    ]
    replies = [
        (t.created_at.date(), _hours(t.created_at, t.first_reply_at))
        for t in timings
        if t.first_reply_at
    ]
    solves = [
        (t.created_at.date(), _hours(t.created_at, t.solved_at)) for t in timings if t.solved_at
    ]
    return Dashboard(
        currency=currency,
        since=since,
        days=days,
        volume=[DailyFigure(d, float(per_day.get(d, 0))) for d in calendar],
        first_reply_hours=_daily(replies, calendar, _median),
        resolution_hours=_daily(solves, calendar, _median),
        grants_by_remedy=_grants_by_remedy(granted, remedy_costs),
        service_levels=_service_levels(timings),
        cases=len(timings),
        replied=len(replies),
        solved=len(solves),
        grant_cost=sum((g.cost for g in granted), ZERO),
        median_first_reply_hours=_overall_median(replies),
        median_resolution_hours=_overall_median(solves),
        extra_series=_extra_series(sla_outcomes, answered, calendar),
        sla_met_share=(
            sum(1 for _, met in sla_outcomes if met) / len(sla_outcomes) if sla_outcomes else None
        ),
        satisfaction_average=round(statistics.mean(v for _, v in answered), 2)
        if answered
        else None,
    )


def _overall_median(pairs: list[tuple[date, float]]) -> float | None:
    return round(statistics.median(v for _, v in pairs), 2) if pairs else None


def _extra_series(
    sla_outcomes: list[tuple[date, bool]], answered: list[tuple[date, float]], calendar: list[date]
) -> dict[str, list[DailyFigure]]:
    """The series of the features that measure them: SLA clocks, satisfaction surveys."""
    extra: dict[str, list[DailyFigure]] = {}
    if sla_outcomes:
        extra["SLA attainment (share of targets met, by day decided)"] = _daily(
            sla_outcomes, calendar, _share
        )
    if answered:
        extra["Satisfaction (average score 1-5, by day answered)"] = _daily(
            answered, calendar, _mean
        )
    return extra


def _grants_by_remedy(
    granted: list[GrantFact], remedy_costs: dict[str | None, Decimal]
) -> list[tuple[str, int, Decimal]]:
    """How often each remedy was granted and what it cost, dearest first.

    Each remedy costs what it posted to the ledger: a keep-the-item bundled with a refund
    costs nothing, whatever the bundle cost.
    """
    granted_count: dict[str, int] = {}
    for g in granted:
        for remedy_id in g.remedy_ids:
            granted_count[remedy_id] = granted_count.get(remedy_id, 0) + 1
    by_remedy = {r: (n, remedy_costs.get(r, ZERO)) for r, n in granted_count.items()}
    unattributed = remedy_costs.get(None, ZERO)
    if unattributed:
        by_remedy[UNATTRIBUTED] = (0, unattributed)
    return sorted(
        ((r, n, c.quantize(Decimal("0.01"))) for r, (n, c) in by_remedy.items()),
        key=lambda item: (-item[2], item[0]),
    )


def _service_levels(timings: list[CaseTiming]) -> dict[int, int]:
    """Solved cases by the service level of their resolution (1, 2 or 3)."""
    levels = {1: 0, 2: 0, 3: 0}
    for t in timings:
        if t.solved_at is not None and t.service_level in levels:
            levels[t.service_level] += 1
    return levels
