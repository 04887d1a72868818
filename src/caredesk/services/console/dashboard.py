"""The manager's dashboard: volume, reply and resolution times, grants, SLA and satisfaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import DomainError, ValidationFailed
from caredesk.domain.money import ZERO
from caredesk.services.console.ports import GrantBundle, SlaDay, SurveyDay
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.engine.policy import policy_in_force


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


def _daily(figures: dict[date, float], days: list[date]) -> list[DailyFigure]:
    """One figure a day; a day without any reads 0."""
    return [DailyFigure(day, figures.get(day, 0.0)) for day in days]


def _hours(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def _rounded(hours: dict[date, float]) -> dict[date, float]:
    return {day: round(h, 2) for day, h in hours.items()}


def dashboard(uow: ConsoleUnit, actor: Actor, now: datetime, days: int = 30) -> Dashboard:
    """The period's figures, each grouped by the database: a few dozen rows whatever the
    number of cases, grants, targets and surveys."""
    actor.require(Permission.APPROVE)
    if not 1 <= days <= 366:
        raise ValidationFailed("days must be between 1 and 366", details={"field": "days"})
    start_day = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(start_day, datetime.min.time(), tzinfo=now.tzinfo)
    calendar = [start_day + timedelta(days=i) for i in range(days)]
    with uow:
        cases = uow.console.case_figures(since)
        bundles = uow.console.grant_bundles(since)
        remedy_costs = uow.console.grant_cost_by_remedy(since)
        sla_days = uow.console.sla_days(since)
        survey_days = uow.console.survey_days(since)
        try:
            currency = policy_in_force(uow).policy.currency
        except DomainError:  # no policy loaded yet: amounts read as the default currency's
            currency = "USD"
    decided = sum(d.decided for d in sla_days)
    answered = sum(d.answered for d in survey_days)
    return Dashboard(
        currency=currency,
        since=since,
        days=days,
        volume=_daily({day: float(n) for day, n in cases.opened.items()}, calendar),
        first_reply_hours=_daily(_rounded(cases.first_reply_hours), calendar),
        resolution_hours=_daily(_rounded(cases.resolution_hours), calendar),
        grants_by_remedy=_grants_by_remedy(bundles, remedy_costs),
        service_levels=cases.service_levels,
        cases=sum(cases.opened.values()),
        replied=cases.replied,
        solved=cases.solved,
        grant_cost=sum((b.cost for b in bundles), ZERO),
        median_first_reply_hours=_hours(cases.median_first_reply_hours),
        median_resolution_hours=_hours(cases.median_resolution_hours),
        extra_series=_extra_series(sla_days, survey_days, calendar),
        sla_met_share=sum(d.met for d in sla_days) / decided if decided else None,
        satisfaction_average=(
            round(sum(d.score_total for d in survey_days) / answered, 2) if answered else None
        ),
    )


def _extra_series(
    sla_days: list[SlaDay], survey_days: list[SurveyDay], calendar: list[date]
) -> dict[str, list[DailyFigure]]:
    """The series of the features that measure them: SLA clocks, satisfaction surveys."""
    extra: dict[str, list[DailyFigure]] = {}
    if sla_days:
        extra["SLA attainment (share of targets met, by day decided)"] = _daily(
            {d.day: round(100 * d.met / d.decided, 1) for d in sla_days}, calendar
        )
    if survey_days:
        extra["Satisfaction (average score 1-5, by day answered)"] = _daily(
            {d.day: round(d.score_total / d.answered, 2) for d in survey_days}, calendar
        )
    return extra


def _grants_by_remedy(
    bundles: list[GrantBundle], remedy_costs: dict[str | None, Decimal]
) -> list[tuple[str, int, Decimal]]:
    """How often each remedy was granted and what it cost, dearest first.

    Each remedy costs what it posted to the ledger: a keep-the-item bundled with a refund
    costs nothing, whatever the bundle cost.
    """
    granted_count: dict[str, int] = {}
    for bundle in bundles:
        for remedy_id in bundle.remedy_ids:
            granted_count[remedy_id] = granted_count.get(remedy_id, 0) + bundle.grants
    by_remedy = {r: (n, remedy_costs.get(r, ZERO)) for r, n in granted_count.items()}
    unattributed = remedy_costs.get(None, ZERO)
    if unattributed:
        by_remedy[UNATTRIBUTED] = (0, unattributed)
    return sorted(
        ((r, n, c.quantize(Decimal("0.01"))) for r, (n, c) in by_remedy.items()),
        key=lambda item: (-item[2], item[0]),
    )
