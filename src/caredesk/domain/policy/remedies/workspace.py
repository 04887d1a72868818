"""The states a bundle of remedies changes, and the checks and money moves remedies share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from caredesk.domain.catalog import Variant
from caredesk.domain.customers import Customer, PaymentMethod
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.ledger import Posting, refund_to
from caredesk.domain.money import ZERO
from caredesk.domain.orders import Order, PaymentTransaction, TransactionType
from caredesk.domain.policy.model import RemedyDef, RemedyKind


@dataclass
class Workspace:
    """The states a bundle of remedies changes, copied so a refusal changes nothing."""

    customer: Customer
    order: Order | None
    variants: Mapping[str, Variant]
    now: datetime
    new_orders: list[Order] = field(default_factory=list)
    customer_changed: bool = False
    order_changed: bool = False

    @classmethod
    def of(
        cls,
        customer: Customer,
        order: Order | None,
        variants: Mapping[str, Variant],
        now: datetime,
    ) -> Workspace:
        return cls(customer.clone(), order.clone() if order is not None else None, variants, now)


@dataclass(frozen=True, slots=True)
class Effect:
    remedy_id: str
    kind: RemedyKind
    cost: Decimal
    postings: list[Posting]
    summary: str
    customer_note: str

    @classmethod
    def of(
        cls,
        remedy: RemedyDef,
        cost: Decimal,
        postings: list[Posting],
        summary: str,
        customer_note: str,
    ) -> Effect:
        """What granting `remedy` did, in the ledger and in words (for the record, the customer)."""
        return cls(remedy.id, remedy.kind, cost, postings, summary, customer_note)


def refuse(code: ErrorCode, message: str, **details: Any) -> DomainError:
    return DomainError(message, code=code, details=details)


def need_order(ws: Workspace) -> Order:
    if ws.order is None:
        raise ValidationFailed("this remedy needs an order", details={"field": "order_id"})
    if ws.order.customer_id != ws.customer.id:
        # Payments, refunds and balances are the customer's: another's order is never touched,
        # whether or not the policy in force says so.
        raise refuse(
            ErrorCode.NOT_CUSTOMERS,
            f"order {ws.order.id} belongs to another customer",
            order_id=ws.order.id,
        )
    return ws.order


def payment_method(ws: Workspace, payment_method_id: Any) -> PaymentMethod:
    if not isinstance(payment_method_id, str) or not payment_method_id:
        raise ValidationFailed(
            "a payment method is required", details={"field": "payment_method_id"}
        )
    method = ws.customer.payment_method(payment_method_id)
    if method is None:
        raise refuse(
            ErrorCode.INVALID_PAYMENT_METHOD,
            f"payment method {payment_method_id} is not one of the customer's",
            payment_method_id=payment_method_id,
        )
    return method


def id_list(params: Mapping[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationFailed(
            f"{key} must be a non-empty list of item ids", details={"field": key}
        )
    return list(value)


def ordered_items(ws: Workspace, params: Mapping[str, Any]) -> tuple[Order, list[str]]:
    """The order and the items of it that the remedy names, each really in it."""
    order = need_order(ws)
    item_ids = id_list(params, "item_ids")
    check_items_in_order(order, item_ids)
    return order, item_ids


def check_items_in_order(order: Order, item_ids: list[str]) -> None:
    held = Counter(line.variant_id for line in order.lines)
    for item_id, wanted in Counter(item_ids).items():
        if wanted > held[item_id]:
            raise refuse(
                ErrorCode.ITEM_NOT_IN_ORDER,
                f"item {item_id} is not in order {order.id} (or not that many times)",
                item_id=item_id,
            )


def swap_prices(
    ws: Workspace, order: Order, item_ids: list[str], new_item_ids: list[str]
) -> Decimal:
    """Validate a one-for-one swap within each product and return the price difference."""
    if len(item_ids) != len(new_item_ids):
        raise ValidationFailed(
            "item_ids and new_item_ids must have the same length", details={"field": "new_item_ids"}
        )
    check_items_in_order(order, item_ids)
    diff = ZERO
    for item_id, new_id in zip(item_ids, new_item_ids, strict=True):
        line = next(line for line in order.lines if line.variant_id == item_id)
        new = ws.variants.get(new_id)
        if new is None or new.product_id != line.product_id:
            raise refuse(
                ErrorCode.DIFFERENT_PRODUCT,
                f"item {new_id} is not a variant of {line.name} (product {line.product_id})",
                item_id=item_id,
                new_item_id=new_id,
            )
        if not new.available:
            raise refuse(
                ErrorCode.ITEM_UNAVAILABLE, f"item {new_id} is not available", new_item_id=new_id
            )
        diff += new.price - line.price
    return diff.quantize(Decimal("0.01"))


def pay_balance(method: PaymentMethod, amount: Decimal, what: str) -> None:
    """Take `amount` from a gift card or store credit; never below zero."""
    if not method.has_balance:
        return
    balance = method.balance or ZERO
    if balance < amount:
        raise refuse(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"{method.id} has {balance} but {what} needs {amount}",
            payment_method_id=method.id,
            balance=str(balance),
            needed=str(amount),
        )
    method.balance = (balance - amount).quantize(Decimal("0.01"))


def credit_balance(method: PaymentMethod, amount: Decimal) -> None:
    if method.has_balance:
        method.balance = ((method.balance or ZERO) + amount).quantize(Decimal("0.01"))


def record_payment(
    order: Order, kind: TransactionType, amount: Decimal, method_id: str, now: datetime
) -> None:
    order.payments.append(PaymentTransaction(kind, amount, method_id, now))


def _net_paid_by_method(order: Order) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = {}
    for p in order.payments:
        sign = 1 if p.transaction_type is TransactionType.PAYMENT else -1
        paid[p.payment_method_id] = paid.get(p.payment_method_id, ZERO) + sign * p.amount
    return paid


def refund_payments(
    ws: Workspace, order: Order, amount: Decimal, source: str, memo: str
) -> list[Posting]:
    """Refund up to `amount` to the order's own payments, in the order they were made."""
    postings: list[Posting] = []
    remaining = amount
    for method_id, net in _net_paid_by_method(order).items():
        if remaining <= ZERO:
            break
        share = min(net, remaining)
        if share <= ZERO:
            continue
        method = ws.customer.payment_method(method_id)
        if method is None:
            raise refuse(
                ErrorCode.INVALID_PAYMENT_METHOD,
                f"the order was paid with {method_id}, which the customer no longer has",
            )
        record_payment(order, TransactionType.REFUND, share, method_id, ws.now)
        credit_balance(method, share)
        postings += refund_to(method, share, source, memo)
        remaining -= share
    if remaining > ZERO:
        raise refuse(
            ErrorCode.GUARDRAIL,
            f"only {amount - remaining} of {amount} was paid on order {order.id}",
            rule="hard.refund_at_most_paid",
        )
    ws.customer_changed = True
    return postings
