"""Gathering the facts a policy decides on: the customer, the order, the case, the request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from caredesk.domain.agents import Actor
from caredesk.domain.cases import Case
from caredesk.domain.catalog import Variant
from caredesk.domain.customers import Customer
from caredesk.domain.money import ZERO
from caredesk.domain.orders import Order, OrderStatus
from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.domain.policy.value import CustomerValue, value_of
from caredesk.services.engine.ports import BudgetWindow, Figures
from caredesk.services.engine.unit import EngineUnit

NEGATIVE_SENTIMENT = -0.3
# Triage writes what it learned about a case into these custom fields (and tags).
ISSUE_FIELD, SENTIMENT_FIELD, RISK_FIELD, MOMENTS_FIELD, KNOWN_ISSUE_FIELD = (
    "issue_type",
    "sentiment",
    "public_risk",
    "moments",
    "known_issue",
)


@dataclass(frozen=True, slots=True)
class Situation:
    """The records a decision is about and the sums it counts for the agent who asks,
    loaded once."""

    customer: Customer
    order: Order | None
    case: Case | None
    variants: dict[str, Variant]
    value: CustomerValue
    figures: Figures


def _tagged(case: Case, prefix: str) -> list[str]:
    return [t.removeprefix(prefix) for t in case.tags if t.startswith(prefix)]


def listed_values(value: Any) -> list[str]:
    """A custom field that holds a list, written as one or as comma-separated text."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def case_facts(case: Case) -> dict[str, Any]:
    fields = case.custom_fields
    sentiment = fields.get(SENTIMENT_FIELD)
    sentiment_value = float(sentiment) if isinstance(sentiment, int | float) else None
    risk = fields.get(RISK_FIELD)
    return {
        "case.id": case.id,
        "case.status": case.status.value,
        "case.channel": case.channel.value,
        "case.priority": case.priority.value,
        "case.tags": list(case.tags),
        "case.issue_type": fields.get(ISSUE_FIELD) or next(iter(_tagged(case, "issue:")), None),
        "case.sentiment": sentiment_value,
        "case.negative_sentiment": sentiment_value is not None
        and sentiment_value <= NEGATIVE_SENTIMENT,
        "case.public_risk": bool(risk) or "public-risk" in case.tags,
        "case.moments": sorted(
            {*listed_values(fields.get(MOMENTS_FIELD)), *_tagged(case, "moment:")}
        ),
        "case.known_issues": sorted(
            {*listed_values(fields.get(KNOWN_ISSUE_FIELD)), *_tagged(case, "known-issue:")}
        ),
    }


def order_facts(order: Order, now: datetime) -> dict[str, Any]:
    delivered = [f.delivered_at for f in order.shipments if f.delivered_at is not None]
    delivered_at = max(delivered) if delivered else None
    promised = order.promised_date
    late_days = None
    if promised is not None:
        arrived = delivered_at.date() if delivered_at else now.date()
        late_days = max(0, (arrived - promised).days)
    return {
        "order.id": order.id,
        "order.customer_id": order.customer_id,
        "order.status": order.status.value,
        "order.total": order.total,
        "order.paid": order.amount_paid,
        "order.lines": len(order.lines),
        "order.days_since_order": (now - order.placed_at).days if order.placed_at else None,
        "order.days_since_delivery": (now - delivered_at).days if delivered_at else None,
        "order.delivered": order.status is OrderStatus.DELIVERED,
        "order.promised_date_missed": bool(late_days),
        "order.days_late": late_days,
        "order.modified": order.status is OrderStatus.PENDING_MODIFIED,
        "order.refunded_in_full": order.refunded_in_full,
        "order.items_kept": bool(order.kept_items),
    }


def situation_facts(
    situation: Situation, policy: Policy, actor: Actor, actor_kind: str, now: datetime
) -> dict[str, Any]:
    customer = situation.customer
    facts: dict[str, Any] = {
        "actor.role": actor.role.grants_as.value,
        "actor.kind": actor_kind,
        "actor.customer_id": actor.customer_id,
        "customer.id": customer.id,
        "customer.tier": customer.tier,
        "customer.membership": customer.membership,
        "customer.value": situation.value.lifetime_value,
        "customer.orders": situation.value.orders,
        "customer.first_order": situation.value.orders <= 1,
        "customer.tenure_days": situation.value.tenure_days,
    }
    if situation.case is not None:
        facts.update(case_facts(situation.case))
    if situation.order is not None:
        facts.update(order_facts(situation.order, now))
    return facts


def request_facts(
    situation: Situation, policy: Policy, remedy: RemedyDef, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Facts about one remedy's parameters: what returning the items would cost and recover."""
    facts: dict[str, Any] = {
        f"request.{key}": value
        for key, value in params.items()
        if isinstance(value, str | int | float | bool | list) or value is None
    }
    order = situation.order
    method_id = params.get("payment_method_id")
    if isinstance(method_id, str):
        method = situation.customer.payment_method(method_id)
        facts["request.payment_method_kind"] = method.kind.value if method else None
        facts["request.payment_method_owned"] = method is not None
        if order is not None and order.payments:
            facts["request.payment_method_is_original"] = (
                order.payments[0].payment_method_id == method_id
            )
    item_ids = params.get("item_ids")
    if order is not None and isinstance(item_ids, list):
        prices = []
        pool = list(order.lines)
        for item_id in item_ids:
            line = next((line for line in pool if line.variant_id == item_id), None)
            if line is not None:
                pool.remove(line)
                prices.append(line.price)
        value = sum(prices, ZERO)
        costs = policy.costs
        facts["request.items_value"] = value
        facts["request.recoverable_value"] = (value * costs.resale_rate).quantize(Decimal("0.01"))
        facts["request.return_cost"] = (
            costs.return_label + costs.handling * len(prices) + value * costs.restock_loss_rate
        ).quantize(Decimal("0.01"))
    return facts


def order_in_question(
    uow: EngineUnit, customer_id: str, case: Case | None, order_id: str | None
) -> str | None:
    """The order a decision is about: the one named, else the case's first, else the latest."""
    if order_id is None and case is not None:
        return case.order_ids[0] if case.order_ids else uow.orders.latest_id(customer_id)
    return order_id


def load_situation(
    uow: EngineUnit,
    policy: Policy,
    now: datetime,
    *,
    customer: Customer,
    case: Case | None,
    order_id: str | None,
    agent_id: int | None,
    extra_variant_ids: list[str] | None = None,
) -> Situation:
    """The order in question and its catalogue, then every sum in one read: the customer's
    history as aggregates, never their orders and cases one by one."""
    order_id = order_in_question(uow, customer.id, case, order_id)
    order = uow.orders.get(order_id) if order_id is not None else None
    product_ids = {line.product_id for line in order.lines} if order else set()
    variants = {v.id: v for v in uow.products.variants(product_ids, set(extra_variant_ids or []))}
    figures = uow.grants.figures(
        customer_id=customer.id,
        case_id=case.id if case is not None else None,
        # A case issue's cap is worth the orders the case is about, the one in question too.
        case_order_ids=[*([order.id] if order else []), *case.order_ids] if case else [],
        order_id=order.id if order else None,
        agent_id=agent_id,
        team_id=case.team_id if case is not None else None,
        budgets=[
            BudgetWindow(b.team if b.team != "*" else None, b.period_start(now))
            for b in policy.budgets
        ],
        day_start=now.replace(hour=0, minute=0, second=0, microsecond=0),
        now=now,
    )
    value = value_of(figures.history, customer.tier, policy, now)
    return Situation(customer, order, case, variants, value, figures)


def default_params(
    situation: Situation, policy: Policy, facts: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """What each remedy would act on if granted for this case, unless the agent says otherwise."""
    order = situation.order
    all_items = [line.variant_id for line in order.lines] if order else []
    params: dict[str, dict[str, Any]] = {}
    known = set(facts.get("case.known_issues") or [])
    for remedy in policy.remedies:
        chosen: dict[str, Any] = dict(remedy.params)
        if remedy.kind in (
            RemedyKind.REFUND,
            RemedyKind.REPLACEMENT,
            RemedyKind.KEEP_ITEM,
            RemedyKind.RETURN_LABEL,
        ):
            chosen.setdefault("item_ids", all_items)
        if remedy.kind is RemedyKind.RETURN_LABEL and order and order.payments:
            chosen.setdefault("payment_method_id", order.payments[0].payment_method_id)
        for program in policy.programs:
            if program.remedy == remedy.id and program.known_issue in known:
                chosen.update(program.params)
                chosen["program"] = program.id
                affected = program.params.get("product_ids")
                if order is not None:
                    chosen.setdefault(
                        "item_ids",
                        [
                            line.variant_id
                            for line in order.lines
                            if not affected or line.product_id in affected
                        ][:1],
                    )
        params[remedy.id] = chosen
    return params
