"""Authority limits, guardrails and the planner's ranking, on the default policy."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from caredesk.adapters.yaml_files import parse_policy
from caredesk.domain.catalog import Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)
from caredesk.domain.policy import remedies as ops
from caredesk.domain.policy.authority import Usage, decide
from caredesk.domain.policy.planner import PlanContext, plan
from caredesk.domain.policy.value import base_retention, customer_value, retention_with
from caredesk.services.engine.policy import packaged_policy_text

D = Decimal
NOW = datetime(2026, 3, 2, tzinfo=UTC)
POLICY = parse_policy(packaged_policy_text("default")).policy


def test_within_limits_the_agent_grants() -> None:
    refund = [POLICY.remedy("refund-partial")]
    assert decide(POLICY, "agent", refund, D("40"), Usage()).may_grant  # type: ignore[arg-type]


def test_over_the_agent_limit_a_lead_approves_and_over_the_leads_an_admin() -> None:
    refund = [POLICY.remedy("refund-full")]
    to_lead = decide(POLICY, "agent", refund, D("150"), Usage())  # type: ignore[arg-type]
    assert to_lead.needs_approval and to_lead.approver_role == "lead"
    to_admin = decide(POLICY, "agent", refund, D("900"), Usage())  # type: ignore[arg-type]
    assert to_admin.approver_role == "admin"
    daily = decide(POLICY, "agent", refund, D("10"), Usage(agent_spent_today=D("595")))  # type: ignore[arg-type]
    assert daily.needs_approval
    assert "daily limit" in daily.reasons[0]


def test_guardrails_refuse_whatever_the_role() -> None:
    credit = [POLICY.remedy("store-credit")]
    busy = Usage(customer_grants_90d=6)
    refusal = decide(POLICY, "admin", credit, D("15"), busy).refusal  # type: ignore[arg-type]
    assert refusal is not None
    assert refusal.rule_id == "guardrails.max_grants_per_customer_90d"
    serial = Usage(customer_refunds_365d=D("700"), customer_spend_365d=D("1000"))
    refunds = [POLICY.remedy("refund-full")]
    ratio = decide(POLICY, "admin", refunds, D("200"), serial, refund_amount=D("200"))  # type: ignore[arg-type]
    assert ratio.refusal is not None
    assert ratio.refusal.rule_id == "guardrails.max_refund_ratio"


def test_value_grows_with_history_and_tier() -> None:
    def orders(n: int) -> list[Order]:
        return [
            Order(
                id=f"o{i}",
                customer_id="c",
                status=OrderStatus.DELIVERED,
                address=Address("x"),
                lines=[OrderLine("v", "p", "P", D("200"))],
                placed_at=NOW - timedelta(days=30 * i + 1),
            )
            for i in range(n)
        ]

    none = customer_value([], "standard", POLICY, NOW)
    few = customer_value(orders(2), "standard", POLICY, NOW)
    many = customer_value(orders(12), "standard", POLICY, NOW)
    vip = customer_value(orders(12), "vip", POLICY, NOW)
    assert none.lifetime_value == POLICY.value.floor
    assert few.lifetime_value < many.lifetime_value < vip.lifetime_value


def test_remedies_raise_the_chance_of_keeping_the_customer() -> None:
    base = base_retention(
        POLICY, "late_delivery", negative_sentiment=True, public_risk=False, first_order=False
    )
    assert base < 0.55
    lifted = retention_with(POLICY, base, "late_delivery", [POLICY.remedy("expedite")])  # type: ignore[list-item]
    assert base < lifted <= POLICY.retention.ceiling


def _late_order_context(role: str, *, refunded: bool = False) -> PlanContext:
    customer = Customer(
        id="c1",
        first_name="A",
        last_name="B",
        payment_methods=[PaymentMethod("card", PaymentKind.CREDIT_CARD, "visa", "1")],
    )
    order = Order(
        id="o1",
        customer_id="c1",
        status=OrderStatus.SHIPPED,
        address=Address("x"),
        lines=[OrderLine("v1", "p1", "Desk", D("300"))],
        payments=[PaymentTransaction(TransactionType.PAYMENT, D("300"), "card")]
        + ([PaymentTransaction(TransactionType.REFUND, D("300"), "card")] if refunded else []),
        shipments=[Shipment(["t"], ["v1"])],
        placed_at=NOW - timedelta(days=20),
    )
    facts: dict[str, Any] = {
        "customer.id": "c1",
        "order.id": "o1",
        "order.customer_id": "c1",
        "order.status": "shipped",
        "case.issue_type": "late_delivery",
        "case.status": "open",
        "case.moments": [],
    }
    params: dict[str, dict[str, Any]] = {r.id: {} for r in POLICY.remedies}
    return PlanContext(
        policy=POLICY,
        facts=facts,
        workspace=ops.Workspace(customer, order, {"v1": Variant("v1", "p1", {}, D("300"))}, NOW),
        params=params,
        request_facts={},
        role=role,
        usage=Usage(),
        customer_value=D("600"),
    )


def test_the_planner_ranks_eligible_bundles_by_expected_value() -> None:
    result = plan(_late_order_context("agent"))
    assert 1 <= len(result.offers) <= POLICY.planner.offers
    values = [o.expected_value for o in result.offers]
    assert values == sorted(values, reverse=True)
    top = result.offers[0]
    assert "expedite" in top.remedy_ids
    for offer in result.offers:
        ids = set(offer.remedy_ids)
        assert not ({"refund-full", "refund-partial"} <= ids)  # excluded together
        assert offer.retention > result.baseline_retention
    assert "fee-waiver" in result.ineligible


def test_the_same_case_gives_an_agent_approval_flags_and_a_lead_a_grant() -> None:
    agent_offers = plan(_late_order_context("agent")).offers
    lead_offers = plan(_late_order_context("lead")).offers
    assert all(o.decision.may_grant for o in lead_offers)
    limit = POLICY.authority["agent"].per_grant
    big = [o for o in agent_offers if o.cost > limit]
    assert all(o.decision.needs_approval and o.decision.approver_role == "lead" for o in big)


def test_a_remedy_worth_nothing_is_never_offered() -> None:
    result = plan(_late_order_context("lead", refunded=True))
    assert all("refund-full" not in offer.remedy_ids for offer in result.offers)
    assert [r.rule_id for r in result.ineligible["refund-full"]] == ["hard.no_zero_value"]


class _CountedText(str):
    """A fact's text that counts how often a rule compares it."""

    compared = 0

    def __ne__(self, other: object) -> bool:
        self.compared += 1
        return str.__ne__(self, other)

    __hash__ = str.__hash__


def test_a_rule_that_reads_no_request_fact_is_decided_once_per_plan() -> None:
    # The hard rule reads the case's status, the same whatever remedy the plan tries with
    # whatever request: it is decided once, not once for each of the remedies tried.
    context = _late_order_context("agent")
    status = _CountedText("open")
    facts = {**context.facts, "case.status": status}
    request = {r.id: {"request.reason": "late"} for r in POLICY.remedies}
    tried = [r for r in POLICY.remedies if r.offer]
    assert len(tried) > 1 and POLICY.guardrails.hard_rules == ["hard.no_grants_on_closed_case"]

    result = plan(dataclasses.replace(context, facts=facts, request_facts=request))

    assert status.compared == 1
    assert result.offers


def test_a_rule_that_reads_a_request_fact_is_decided_for_each_request() -> None:
    # keep.problem_reported reads request.reason: a remedy whose request gives a reason
    # is decided on it, another on the case's issue alone.
    context = _late_order_context("lead")
    keep = POLICY.remedy("keep-item")
    assert keep is not None
    plain = plan(context)
    reasoned = plan(
        dataclasses.replace(context, request_facts={"keep-item": {"request.reason": "damaged"}})
    )
    refused = {r.rule_id for r in plain.ineligible["keep-item"]}
    assert "keep.problem_reported" in refused
    assert "keep.problem_reported" not in {
        r.rule_id for r in reasoned.ineligible.get("keep-item", [])
    }
