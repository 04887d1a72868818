"""What a grant's limits are measured against (spend, budgets, caps) and the locks around them."""

from __future__ import annotations

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


def measure_usage(situation: Situation, case_grants: list[Grant]) -> Usage:
    """What the situation's sums say has been granted already, for the limits a new grant
    adds to."""
    spend = situation.figures.spend
    return Usage(
        case_spent=spend.case_spent,
        agent_spent_today=spend.agent_spent_today,
        budget_spent=dict(enumerate(spend.budget_spent)),
        customer_grants_90d=spend.customer_grants_90d,
        customer_refunds_365d=spend.customer_refunds_365d,
        customer_spend_365d=spend.customer_spend_365d,
        caps=_caps(situation, case_grants),
    )


def _caps(situation: Situation, case_grants: list[Grant]) -> tuple[CapUsage, ...]:
    caps = []
    if situation.order is not None:
        order = situation.order
        caps.append(
            CapUsage("order", f"order {order.id}", order.total, situation.figures.spend.order_spent)
        )
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
        caps.append(CapUsage("case_issue", name, situation.figures.case_orders_value, granted))
    return tuple(caps)


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
