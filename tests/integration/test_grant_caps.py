"""Caps on compensation: one order, and one issue of a case, never receive more in total than
the policy allows, whoever grants; a refusal names the cap and writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from caredesk.bootstrap import Container
from caredesk.domain.agents import Actor, Role
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.grants import GrantStatus
from caredesk.domain.policy.eligibility import PolicyRefused
from caredesk.services.engine import grants
from tests.integration.money_store import (
    add_agent,
    add_customer,
    load_policy,
    open_case,
    with_typed_credit,
)

D = Decimal


@pytest.fixture
def lead(container: Container) -> Actor:
    add_customer(container, "ines", {"A1": "50.00"})
    add_customer(container, "noah", {})
    load_policy(
        container,
        "caps-test",
        remedies=with_typed_credit(),
        authority={
            "agent": {"per_grant": 50, "per_case": 200, "per_day": 600},
            "lead": {"per_grant": 500, "per_case": 1000, "per_day": 5000},
        },
        caps={
            "per_order": {"value_share": 1, "extra": 30},
            "per_case_issue": {"value_share": 1, "extra": 40},
        },
    )
    return add_agent(container, "lee@desk.example", Role.LEAD)


def _credit(amount: str) -> dict[str, dict[str, str]]:
    return {"typed-credit": {"amount": amount}}


def _written(container: Container, case_id: int) -> tuple[int, int, int, Decimal]:
    with container.uow() as uow:
        return (
            len(uow.grants.for_case(case_id)),
            len(uow.cases.messages(case_id)),
            len(uow.audit.for_case(case_id)),
            uow.ledger.trial_balance() + uow.ledger.balance("goodwill:store_credit"),
        )


def test_an_order_never_receives_more_than_its_cap(container: Container, lead: Actor) -> None:
    now = container.clock.now()
    first = open_case(container, lead, "ines", order_ids=["A1"], issue="damaged")
    refunded = grants.grant_on_case(container.uow(), lead, now, first, ["refund-full"])
    assert refunded.grant.cost == D("50.00")
    credited = grants.grant_on_case(
        container.uow(), lead, now, first, ["typed-credit"], params=_credit("20")
    )
    assert credited.grant.status is GrantStatus.EXECUTED
    # Another case about the same order has its own issue allowance, not another order's.
    second = open_case(container, lead, "ines", order_ids=["A1"], issue="late_delivery")
    before = _written(container, second)

    with pytest.raises(PolicyRefused) as refused:
        grants.grant_on_case(
            container.uow(), lead, now, second, ["typed-credit"], params=_credit("10.01")
        )

    assert refused.value.code is ErrorCode.GUARDRAIL
    assert refused.value.details["rule"] == "caps.per_order"
    assert _written(container, second) == before
    # What is left (80 of 50 paid + 30) is still granted, and the planner proposes no more.
    last = grants.grant_on_case(
        container.uow(), lead, now, second, ["typed-credit"], params=_credit("10")
    )
    assert last.grant.status is GrantStatus.EXECUTED
    ranking = grants.plan_case(container.uow(), lead, now, second).ranking
    assert [o.cost for o in ranking.offers if o.cost > 0] == []
    assert [r.rule_id for r in ranking.ineligible["store-credit"]] == ["caps.per_order"]


def test_one_issue_of_a_case_never_receives_more_than_its_cap(
    container: Container, lead: Actor
) -> None:
    now = container.clock.now()
    # Noah has no order: only the case's allowance (40) bounds what the desk gives him.
    case_id = open_case(container, lead, "noah", issue="complaint")
    grants.grant_on_case(
        container.uow(), lead, now, case_id, ["typed-credit"], params=_credit("25")
    )
    before = _written(container, case_id)

    with pytest.raises(DomainError) as refused:
        grants.grant_on_case(
            container.uow(), lead, now, case_id, ["typed-credit"], params=_credit("15.01")
        )

    assert refused.value.details["rule"] == "caps.per_case_issue"
    assert _written(container, case_id) == before
    with container.uow() as uow:
        customer = uow.customers.get("noah")
    assert customer is not None
    credit = customer.payment_method("store_credit_noah")
    assert credit is not None and credit.balance == D("25.00")


def test_an_approval_cannot_lift_a_cap(container: Container, lead: Actor) -> None:
    now = container.clock.now()
    agent = add_agent(container, "ana@desk.example")
    case_id = open_case(container, agent, "ines", order_ids=["A1"], issue="damaged")
    # Above the agent's limit per grant (50) the agent asks; within the cap (80) so far.
    asked = grants.grant_on_case(
        container.uow(), agent, now, case_id, ["typed-credit"], params=_credit("75")
    )
    assert asked.approval is not None and asked.approval.id is not None
    grants.grant_on_case(container.uow(), lead, now, case_id, ["refund-full"])

    with pytest.raises(DomainError) as refused:
        grants.decide_approval(container.uow(), lead, now, asked.approval.id, approve=True)

    assert refused.value.details["rule"] == "caps.per_order"
    with container.uow() as uow:
        still = uow.grants.get(asked.grant.id or 0)
        approval = uow.approvals.get(asked.approval.id)
    assert still is not None and still.status is GrantStatus.PENDING_APPROVAL
    assert approval is not None and approval.status.value == "pending"


def test_a_reversed_grant_frees_its_room_and_no_more(container: Container) -> None:
    add_customer(container, "olga", {"B1": "50.00"})
    load_policy(
        container,
        "reversal-test",
        remedies=with_typed_credit(),
        budgets=[{"team": "Front line", "period": "day", "amount": 100}],
        caps={"per_order": {"extra": 200}, "per_case_issue": {"extra": 200}},
    )
    lead = add_agent(container, "lou@desk.example", Role.LEAD, team="Front line")
    now = container.clock.now()
    case_id = open_case(container, lead, "olga", order_ids=["B1"], team="Front line")
    first = grants.grant_on_case(
        container.uow(), lead, now, case_id, ["typed-credit"], params=_credit("60")
    )
    assert first.grant.id is not None
    grants.reverse_grant(container.uow(), lead, now, first.grant.id, "granted by mistake")

    whole = grants.grant_on_case(
        container.uow(), lead, now, case_id, ["typed-credit"], params=_credit("100")
    )
    one_more = grants.grant_on_case(
        container.uow(), lead, now, case_id, ["typed-credit"], params=_credit("1")
    )

    assert whole.grant.status is GrantStatus.EXECUTED
    assert one_more.grant.status is GrantStatus.PENDING_APPROVAL
    assert one_more.approval is not None
    assert any("Front line budget" in reason for reason in one_more.approval.reasons)
