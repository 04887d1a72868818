"""What a grant's limits are measured against (spend, budgets, caps) and the locks around them."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from caredesk.domain.agents import Actor
from caredesk.domain.grants import Grant, GrantStatus
from caredesk.domain.money import ZERO
from caredesk.domain.policy.authority import CapUsage, Usage
from caredesk.domain.policy.model import Policy
from caredesk.services.engine.facts import Situation
from caredesk.services.engine.grants.situation import issue_of
from caredesk.services.engine.unit import EngineUnit

# A grant that stands: money moved, or a lead was asked to move it.
STANDING = frozenset({GrantStatus.EXECUTED, GrantStatus.PENDING_APPROVAL})


def case_grants_of(uow: EngineUnit, situation: Situation) -> list[Grant]:
    case = situation.case
    return uow.grants.for_case(case.id) if case is not None and case.id is not None else []


def standing_for_issue(case_grants: list[Grant], issue: str | None) -> list[Grant]:
    """The grants that stand on a case for one issue; reversed and denied ones do not."""
    return [
        g
        for g in case_grants
        if g.status in STANDING and g.reverses_grant_id is None and g.issue_type == issue
    ]


def measure_usage(
    uow: EngineUnit,
    policy: Policy,
    actor: Actor,
    situation: Situation,
    now: datetime,
    case_grants: list[Grant],
) -> Usage:
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    window = uow.grants.spend(
        case_id=situation.case.id if situation.case else None,
        agent_id=actor.agent_id,
        customer_id=situation.customer.id,
        order_id=situation.order.id if situation.order else None,
        day_start=day_start,
        now=now,
    )
    budget_spent = {}
    for index, budget in enumerate(policy.budgets):
        since = _period_start(now, budget.period)
        team = uow.teams.get_by_name(budget.team) if budget.team != "*" else None
        if budget.team != "*" and team is None:
            continue
        budget_spent[index] = uow.grants.team_spend(team.id if team else None, since)
    return Usage(
        case_spent=window.case_spent,
        agent_spent_today=window.agent_spent_today,
        budget_spent=budget_spent,
        customer_grants_90d=window.customer_grants_90d,
        customer_refunds_365d=window.customer_refunds_365d,
        customer_spend_365d=window.customer_spend_365d,
        caps=_caps(uow, situation, window.order_spent, case_grants),
    )


def _caps(
    uow: EngineUnit, situation: Situation, order_granted: Decimal, case_grants: list[Grant]
) -> tuple[CapUsage, ...]:
    caps = []
    if situation.order is not None:
        order = situation.order
        caps.append(CapUsage("order", f"order {order.id}", order.total, order_granted))
    case = situation.case
    if case is not None:
        issue = issue_of(situation)
        granted = sum(
            (
                g.cost
                for g in standing_for_issue(case_grants, issue)
                if g.status is GrantStatus.EXECUTED
            ),
            ZERO,
        )
        name = f"case {case.id} ({issue or 'no issue type'})"
        caps.append(CapUsage("case_issue", name, _case_value(uow, situation), granted))
    return tuple(caps)


def _case_value(uow: EngineUnit, situation: Situation) -> Decimal:
    """What the customer paid for the orders the case is about; zero when it names none."""
    orders = {situation.order.id: situation.order} if situation.order else {}
    for order_id in situation.case.order_ids if situation.case else []:
        if order_id not in orders:
            order = uow.orders.get(order_id)
            if order is not None:
                orders[order_id] = order
    return sum((o.total for o in orders.values()), ZERO)


def _period_start(now: datetime, period: str) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=((day.month - 1) // 3) * 3 + 1, day=1)


def lock_grant_scopes(
    uow: EngineUnit,
    policy: Policy,
    *,
    agent_id: int | None,
    customer_id: str,
    case_id: int | None,
    order_id: str | None,
    team_id: int | None,
) -> None:
    """Hold every scope whose sums a grant reads and adds to, before they are read.

    Limits, budgets, guardrails and caps are sums of the grants already committed; two grants
    reading them at the same moment would each see room for itself. On one agent, customer,
    case, order or budget, grants therefore run one after the other.
    """
    team = uow.teams.get(team_id) if team_id is not None else None
    scopes = {f"customer:{customer_id}"}
    if agent_id is not None:
        scopes.add(f"agent:{agent_id}")
    if case_id is not None:
        scopes.add(f"case:{case_id}")
    if order_id is not None:
        scopes.add(f"order:{order_id}")
    for budget in policy.budgets:
        if budget.team == "*" or (team is not None and budget.team == team.name):
            scopes.add(f"budget:{budget.team}")
    uow.grants.lock_scopes(scopes)
