"""What a customer is worth and how likely we are to keep them, from their history.

value = max(floor, margin × average order × orders per year × horizon × tier factor)
where orders per year = orders / max(tenure in years, min tenure), counted over orders that
were not cancelled. A public complaint multiplies the value at stake by the policy's
public-risk factor, because it reaches other customers.

chance of keeping = base(issue) − penalties (negative sentiment, public risk, first order),
and a bundle of remedies removes a share of the remaining risk: p = 1 − (1 − p0) × Π(1 − lift).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from caredesk.domain.money import ZERO
from caredesk.domain.orders import Order, OrderStatus
from caredesk.domain.policy.model import Policy, RemedyDef

DAYS_PER_YEAR = Decimal("365.25")


@dataclass(frozen=True, slots=True)
class OrderHistory:
    """What value needs from a customer's orders (those not cancelled)."""

    orders: int
    spend: Decimal
    first_order_at: datetime | None

    @classmethod
    def of(cls, orders: Iterable[Order]) -> OrderHistory:
        kept = [o for o in orders if o.status is not OrderStatus.CANCELLED]
        dates = [o.placed_at for o in kept if o.placed_at is not None]
        return cls(len(kept), sum((o.total for o in kept), ZERO), min(dates) if dates else None)


@dataclass(frozen=True, slots=True)
class CustomerValue:
    lifetime_value: Decimal
    orders: int
    spend: Decimal
    tenure_days: int


def customer_value(
    orders: Iterable[Order], tier: str, policy: Policy, now: datetime
) -> CustomerValue:
    return value_of(OrderHistory.of(orders), tier, policy, now)


def value_of(history: OrderHistory, tier: str, policy: Policy, now: datetime) -> CustomerValue:
    model = policy.value
    first = history.first_order_at
    tenure_days = max(0, (now - first).days) if first else 0
    if not history.orders:
        return CustomerValue(model.floor, 0, ZERO, tenure_days)
    years = max(Decimal(tenure_days) / DAYS_PER_YEAR, model.min_tenure_years)
    per_year = Decimal(history.orders) / years
    average = history.spend / history.orders
    factor = model.tier_factor.get(tier, Decimal(1))
    value = model.margin_rate * average * per_year * model.horizon_years * factor
    return CustomerValue(
        max(model.floor, value.quantize(Decimal("0.01"))),
        history.orders,
        history.spend,
        tenure_days,
    )


def _per_issue(table: dict[str, float], issue: str) -> float:
    return table.get(issue, table.get("*", 0.0))


def base_retention(
    policy: Policy, issue: str, *, negative_sentiment: bool, public_risk: bool, first_order: bool
) -> float:
    model = policy.retention
    p = _per_issue(model.base, issue)
    if negative_sentiment:
        p -= model.negative_sentiment_penalty
    if public_risk:
        p -= model.public_risk_penalty
    if first_order:
        p -= model.first_order_penalty
    return min(max(p, 0.0), model.ceiling)


def retention_with(policy: Policy, base: float, issue: str, remedies: Iterable[RemedyDef]) -> float:
    risk = 1.0 - base
    for remedy in remedies:
        risk *= 1.0 - min(max(_per_issue(remedy.retention_lift, issue), 0.0), 1.0)
    return min(1.0 - risk, policy.retention.ceiling)
