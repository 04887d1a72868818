"""What each remedy does: pure operations on copies of the order and the customer.

Each operation checks the invariants no policy can relax (items exist, money never goes
below zero, an exchange stays within one product) and returns an Effect: the new states,
the balanced ledger postings, the cost to the store, and what to tell the customer.
Eligibility (who may have what, when) is the policy's business, checked before this runs.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from caredesk.domain.catalog import Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.ledger import Posting, charge_from, refund_to
from caredesk.domain.money import ZERO, money_sum, to_money
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    TransactionType,
)
from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind


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


def _refuse(code: ErrorCode, message: str, **details: Any) -> DomainError:
    return DomainError(message, code=code, details=details)


def _need_order(ws: Workspace) -> Order:
    if ws.order is None:
        raise ValidationFailed("this remedy needs an order", details={"field": "order_id"})
    if ws.order.customer_id != ws.customer.id:
        # Payments, refunds and balances are the customer's: another's order is never touched,
        # whether or not the policy in force says so.
        raise _refuse(
            ErrorCode.NOT_CUSTOMERS,
            f"order {ws.order.id} belongs to another customer",
            order_id=ws.order.id,
        )
    return ws.order


def _method(ws: Workspace, payment_method_id: Any) -> PaymentMethod:
    if not isinstance(payment_method_id, str) or not payment_method_id:
        raise ValidationFailed(
            "a payment method is required", details={"field": "payment_method_id"}
        )
    method = ws.customer.payment_method(payment_method_id)
    if method is None:
        raise _refuse(
            ErrorCode.INVALID_PAYMENT_METHOD,
            f"payment method {payment_method_id} is not one of the customer's",
            payment_method_id=payment_method_id,
        )
    return method


def _ids(params: Mapping[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationFailed(
            f"{key} must be a non-empty list of item ids", details={"field": key}
        )
    return list(value)


def _check_items_in_order(order: Order, item_ids: list[str]) -> None:
    held = Counter(line.variant_id for line in order.lines)
    for item_id, wanted in Counter(item_ids).items():
        if wanted > held[item_id]:
            raise _refuse(
                ErrorCode.ITEM_NOT_IN_ORDER,
                f"item {item_id} is not in order {order.id} (or not that many times)",
                item_id=item_id,
            )


def _swap_prices(
    ws: Workspace, order: Order, item_ids: list[str], new_item_ids: list[str]
) -> Decimal:
    """Validate a one-for-one swap within each product and return the price difference."""
    if len(item_ids) != len(new_item_ids):
        raise ValidationFailed(
            "item_ids and new_item_ids must have the same length", details={"field": "new_item_ids"}
        )
    _check_items_in_order(order, item_ids)
    diff = ZERO
    for item_id, new_id in zip(item_ids, new_item_ids, strict=True):
        line = next(line for line in order.lines if line.variant_id == item_id)
        new = ws.variants.get(new_id)
        if new is None or new.product_id != line.product_id:
            raise _refuse(
                ErrorCode.DIFFERENT_PRODUCT,
                f"item {new_id} is not a variant of {line.name} (product {line.product_id})",
                item_id=item_id,
                new_item_id=new_id,
            )
        if not new.available:
            raise _refuse(
                ErrorCode.ITEM_UNAVAILABLE, f"item {new_id} is not available", new_item_id=new_id
            )
        diff += new.price - line.price
    return diff.quantize(Decimal("0.01"))


def _pay_balance(method: PaymentMethod, amount: Decimal, what: str) -> None:
    """Take `amount` from a gift card or store credit; never below zero."""
    if not method.has_balance:
        return
    balance = method.balance or ZERO
    if balance < amount:
        raise _refuse(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"{method.id} has {balance} but {what} needs {amount}",
            payment_method_id=method.id,
            balance=str(balance),
            needed=str(amount),
        )
    method.balance = (balance - amount).quantize(Decimal("0.01"))


def _credit_balance(method: PaymentMethod, amount: Decimal) -> None:
    if method.has_balance:
        method.balance = ((method.balance or ZERO) + amount).quantize(Decimal("0.01"))


def _record(
    order: Order, kind: TransactionType, amount: Decimal, method_id: str, now: datetime
) -> None:
    order.payments.append(PaymentTransaction(kind, amount, method_id, now))


def _net_paid_by_method(order: Order) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = {}
    for p in order.payments:
        sign = 1 if p.transaction_type is TransactionType.PAYMENT else -1
        paid[p.payment_method_id] = paid.get(p.payment_method_id, ZERO) + sign * p.amount
    return paid


def _refund_payments(
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
            raise _refuse(
                ErrorCode.INVALID_PAYMENT_METHOD,
                f"the order was paid with {method_id}, which the customer no longer has",
            )
        _record(order, TransactionType.REFUND, share, method_id, ws.now)
        _credit_balance(method, share)
        postings += refund_to(method, share, source, memo)
        remaining -= share
    if remaining > ZERO:
        raise _refuse(
            ErrorCode.GUARDRAIL,
            f"only {amount - remaining} of {amount} was paid on order {order.id}",
            rule="hard.refund_at_most_paid",
        )
    ws.customer_changed = True
    return postings


# --- order changes a customer asks for -----------------------------------------------------


def cancel(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    order = _need_order(ws)
    postings: list[Posting] = []
    # Every original payment is returned in full; gift cards are credited at once.
    for payment in [p for p in order.payments if p.transaction_type is TransactionType.PAYMENT]:
        method = ws.customer.payment_method(payment.payment_method_id)
        _record(order, TransactionType.REFUND, payment.amount, payment.payment_method_id, ws.now)
        if method is not None:
            _credit_balance(method, payment.amount)
            postings += refund_to(method, payment.amount, "sales", f"cancel {order.id}")
    order.status = OrderStatus.CANCELLED
    order.details["cancel_reason"] = params.get("reason")
    ws.order_changed = ws.customer_changed = True
    return Effect(
        remedy.id,
        remedy.kind,
        ZERO,
        postings,
        f"cancelled order {order.id} ({params.get('reason')})",
        f"Your order {order.id} is cancelled and its payment refunded.",
    )


def modify_address(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    order = _need_order(ws)
    order.address = address_param(params)
    ws.order_changed = True
    return Effect(
        remedy.id,
        remedy.kind,
        ZERO,
        [],
        f"changed the address of order {order.id}",
        f"Order {order.id} will ship to {order.address.address1}, {order.address.city}.",
    )


def address_param(params: Mapping[str, Any]) -> Address:
    raw = params.get("address", params)
    if not isinstance(raw, Mapping):
        raise ValidationFailed("address must be an object", details={"field": "address"})
    fields = ("address1", "address2", "city", "state", "zip", "country")
    values = {k: raw.get(k, "") for k in fields}
    if not all(isinstance(v, str) for v in values.values()) or not values["address1"]:
        raise ValidationFailed(
            "address needs address1 and text fields", details={"field": "address"}
        )
    return Address(**values)


def modify_items(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    order = _need_order(ws)
    item_ids, new_item_ids = _ids(params, "item_ids"), _ids(params, "new_item_ids")
    diff = _swap_prices(ws, order, item_ids, new_item_ids)
    method = _method(ws, params.get("payment_method_id"))
    _pay_balance(method, diff, "the new items") if diff > ZERO else _credit_balance(method, -diff)
    _record(
        order,
        TransactionType.PAYMENT if diff > ZERO else TransactionType.REFUND,
        abs(diff),
        method.id,
        ws.now,
    )
    for item_id, new_id in zip(item_ids, new_item_ids, strict=True):
        index = next(i for i, line in enumerate(order.lines) if line.variant_id == item_id)
        line, new = order.lines[index], ws.variants[new_id]
        order.lines[index] = OrderLine(
            new.id, line.product_id, line.name, new.price, dict(new.options)
        )
    order.status = OrderStatus.PENDING_MODIFIED
    ws.order_changed = ws.customer_changed = True
    memo = f"modify items of {order.id}"
    postings = (
        charge_from(method, diff, memo) if diff > ZERO else refund_to(method, -diff, "sales", memo)
    )
    return Effect(
        remedy.id,
        remedy.kind,
        ZERO,
        postings if diff != ZERO else [],
        f"changed {len(item_ids)} item(s) of order {order.id}, difference {diff}",
        f"Order {order.id} now has the items you chose; the difference is {diff}.",
    )


def modify_payment(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    order = _need_order(ws)
    payments = list(order.payments)
    if len(payments) != 1 or payments[0].transaction_type is not TransactionType.PAYMENT:
        raise _refuse(ErrorCode.CONFLICT, f"order {order.id} must have exactly one payment to move")
    original = payments[0]
    method = _method(ws, params.get("payment_method_id"))
    old = ws.customer.payment_method(original.payment_method_id)
    _pay_balance(method, original.amount, "the order")
    _record(order, TransactionType.PAYMENT, original.amount, method.id, ws.now)
    _record(order, TransactionType.REFUND, original.amount, original.payment_method_id, ws.now)
    memo = f"move payment of {order.id}"
    postings = charge_from(method, original.amount, memo)
    if old is not None:
        _credit_balance(old, original.amount)
        postings += refund_to(old, original.amount, "sales", memo)
    ws.order_changed = ws.customer_changed = True
    return Effect(
        remedy.id,
        remedy.kind,
        ZERO,
        postings,
        f"moved the payment of order {order.id} to {method.id}",
        f"Order {order.id} is now paid with {method.id}; the original payment is refunded.",
    )


def return_items(
    ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy
) -> Effect:
    order = _need_order(ws)
    item_ids = _ids(params, "item_ids")
    _check_items_in_order(order, item_ids)
    method = _method(ws, params.get("payment_method_id"))
    order.status = OrderStatus.RETURN_REQUESTED
    order.details["return_items"] = sorted(item_ids)
    order.details["return_payment_method_id"] = method.id
    ws.order_changed = True
    cost = ZERO
    postings: list[Posting] = []
    if remedy.kind is RemedyKind.RETURN_LABEL:
        cost = policy.costs.return_label + policy.costs.handling
        postings = [
            Posting("goodwill:return_labels", cost, f"label for {order.id}"),
            Posting("carrier", -cost, f"label for {order.id}"),
        ]
    return Effect(
        remedy.id,
        remedy.kind,
        cost,
        postings,
        f"return of {len(item_ids)} item(s) from order {order.id}, refund to {method.id}",
        f"We have emailed you how to return the items from order {order.id}.",
    )


def exchange(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy) -> Effect:
    order = _need_order(ws)
    item_ids, new_item_ids = _ids(params, "item_ids"), _ids(params, "new_item_ids")
    diff = _swap_prices(ws, order, item_ids, new_item_ids)
    method = _method(ws, params.get("payment_method_id"))
    if method.has_balance and (method.balance or ZERO) < diff:
        raise _refuse(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"{method.id} has {method.balance} but the price difference is {diff}",
            payment_method_id=method.id,
        )
    order.status = OrderStatus.EXCHANGE_REQUESTED
    order.details["exchange_items"] = sorted(item_ids)
    order.details["exchange_new_items"] = sorted(new_item_ids)
    order.details["exchange_payment_method_id"] = method.id
    order.details["exchange_price_difference"] = str(diff)
    ws.order_changed = True
    cost = policy.costs.return_label + policy.costs.handling + policy.costs.shipping
    postings = (
        [Posting("goodwill:exchanges", cost, f"exchange {order.id}"), Posting("carrier", -cost)]
        if cost
        else []
    )
    return Effect(
        remedy.id,
        remedy.kind,
        cost,
        postings,
        f"exchange of {len(item_ids)} item(s) in order {order.id}, difference {diff}",
        f"We have emailed you how to send back the items from order {order.id}.",
    )


# --- remedies the desk grants ---------------------------------------------------------------


def resolve_amount(
    remedy: RemedyDef, ws: Workspace, params: Mapping[str, Any], policy: Policy
) -> Decimal:
    spec = remedy.amount
    if spec is None:
        raise ValidationFailed(f"remedy {remedy.id} has no amount in the policy")
    order = ws.order
    if spec.of == "fixed":
        assert spec.fixed is not None
        basis = spec.fixed
    elif spec.of == "shipping":
        basis = policy.costs.shipping
    elif spec.of == "requested":
        try:
            basis = to_money(params["amount"])
        except (KeyError, ArithmeticError, TypeError, ValueError) as exc:
            raise ValidationFailed("amount is required", details={"field": "amount"}) from exc
        if basis <= ZERO:
            raise ValidationFailed("amount must be positive", details={"field": "amount"})
    else:
        if order is None:
            raise ValidationFailed("this remedy needs an order", details={"field": "order_id"})
        if spec.of == "order_paid":
            basis = order.amount_paid
        elif spec.of == "order_total":
            basis = order.total
        else:
            item_ids = _ids(params, "item_ids")
            _check_items_in_order(order, item_ids)
            remaining = list(order.lines)
            prices = []
            for item_id in item_ids:
                line = next(line for line in remaining if line.variant_id == item_id)
                remaining.remove(line)
                prices.append(line.price)
            basis = money_sum(prices)
    amount = (basis * spec.percent / 100).quantize(Decimal("0.01"))
    if spec.max is not None:
        amount = min(amount, spec.max)
    if amount <= ZERO:
        # Telling a customer "we have refunded 0.00" is worse than saying nothing: a money
        # remedy worth nothing (an order already refunded in full) is not a remedy at all.
        raise _refuse(
            ErrorCode.NOT_ELIGIBLE,
            f"{remedy.label} is worth nothing here ({amount})",
            rule="hard.no_zero_value",
            remedy=remedy.id,
        )
    return amount


def refund(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy) -> Effect:
    order = _need_order(ws)
    amount = resolve_amount(remedy, ws, params, policy)
    postings = _refund_payments(ws, order, amount, "refunds", f"refund on {order.id}")
    ws.order_changed = True
    return Effect(
        remedy.id,
        remedy.kind,
        amount,
        postings,
        f"refunded {amount} on order {order.id} to the original payment",
        f"We have refunded {amount} to your original payment method.",
    )


def store_credit(
    ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy
) -> Effect:
    amount = resolve_amount(remedy, ws, params, policy)
    method_id = f"store_credit_{ws.customer.id}"
    method = ws.customer.payment_method(method_id)
    if method is None:
        method = PaymentMethod(id=method_id, kind=PaymentKind.STORE_CREDIT, balance=ZERO)
        ws.customer.payment_methods.append(method)
    _credit_balance(method, amount)
    ws.customer_changed = True
    what = "shipping credit" if remedy.kind is RemedyKind.SHIPPING_CREDIT else "store credit"
    return Effect(
        remedy.id,
        remedy.kind,
        amount,
        [
            Posting(f"goodwill:{remedy.kind.value}", amount),
            Posting(f"storecredit:{method_id}", -amount),
        ],
        f"{what} of {amount}",
        f"We have added {amount} of {what} to your account.",
    )


def _line_cost(variant: Variant | None, line_price: Decimal, policy: Policy) -> Decimal:
    if variant is not None and variant.cost is not None:
        return variant.cost
    return (line_price * policy.costs.default_cost_rate).quantize(Decimal("0.01"))


def ship_free(
    ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy
) -> Effect:
    """A replacement (the same items) or an upgrade (a better variant), shipped at our cost."""
    order = _need_order(ws)
    item_ids = _ids(params, "item_ids")
    _check_items_in_order(order, item_ids)
    lines: list[OrderLine] = []
    goods = ZERO
    for item_id in item_ids:
        line = next(line for line in order.lines if line.variant_id == item_id)
        target_id = params.get("upgrade_to") if remedy.kind is RemedyKind.UPGRADE else item_id
        variant = ws.variants.get(str(target_id)) if target_id else None
        if variant is None or not variant.available:
            raise _refuse(
                ErrorCode.ITEM_UNAVAILABLE,
                f"item {target_id} is not available to ship",
                item_id=target_id,
            )
        goods += _line_cost(variant, variant.price, policy)
        lines.append(
            OrderLine(
                variant.id,
                variant.product_id,
                str(params.get("upgrade_name") or line.name)
                if variant.id != item_id
                else line.name,
                ZERO,
                dict(variant.options),
            )
        )
    sequence = len(ws.new_orders) + 1
    new_order = Order(
        id=f"{order.id}-R{sequence}",
        customer_id=order.customer_id,
        status=OrderStatus.PENDING,
        address=copy.deepcopy(order.address),
        lines=lines,
        placed_at=ws.now,
        details={"replacement_for": order.id, "remedy": remedy.id},
    )
    ws.new_orders.append(new_order)
    shipping = policy.costs.shipping
    cost = goods + shipping
    what = "a newer model" if remedy.kind is RemedyKind.UPGRADE else "a replacement"
    memo = f"{remedy.kind.value} for {order.id}"
    return Effect(
        remedy.id,
        remedy.kind,
        cost,
        [
            Posting(f"goodwill:{remedy.kind.value}", cost, memo),
            Posting("inventory", -goods, memo),
            Posting("carrier", -shipping, memo),
        ],
        f"{remedy.kind.value} shipped free as order {new_order.id}",
        f"We are sending you {what} at no charge (order {new_order.id}).",
    )


def keep_item(
    ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy
) -> Effect:
    order = _need_order(ws)
    item_ids = _ids(params, "item_ids")
    _check_items_in_order(order, item_ids)
    kept = list(order.details.get("keep_items", []))  # type: ignore[call-overload]
    order.details["keep_items"] = [*kept, *item_ids]
    ws.order_changed = True
    return Effect(
        remedy.id,
        remedy.kind,
        ZERO,
        [],
        f"customer keeps {len(item_ids)} item(s) from order {order.id}; no return",
        "Please keep the items; there is nothing to send back.",
    )


def flat_cost(
    ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy
) -> Effect:
    """Fee waivers, expedited shipping and gestures: a known cost and a kind word."""
    if remedy.kind is RemedyKind.GESTURE:
        gift = remedy.gift or "note"
        cost = policy.costs.gestures.get(gift, ZERO)
        note = str(params.get("note") or "")
        summary = f"gesture: {gift}" + (f" ({note})" if note else "")
        told = (
            "We are sending you a small something, with our thanks."
            if gift != "note"
            else "A handwritten note is on its way."
        )
        counter = "payable:gestures"
    elif remedy.kind is RemedyKind.EXPEDITE:
        cost, summary, told, counter = (
            policy.costs.expedite,
            "expedited shipping",
            "We have upgraded your shipping to express, at no charge.",
            "carrier",
        )
    else:
        cost, summary, told, counter = (
            policy.costs.fee,
            "fee waived",
            "We have waived the fee.",
            "sales",
        )
    if ws.order is not None:
        ws.order.details.setdefault("remedies", [])
        ws.order.details["remedies"] = [*ws.order.details["remedies"], remedy.id]  # type: ignore[misc]
        ws.order_changed = True
    return Effect(
        remedy.id,
        remedy.kind,
        cost,
        [Posting(f"goodwill:{remedy.kind.value}", cost), Posting(counter, -cost)] if cost else [],
        summary,
        told,
    )


def update_profile_address(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    address = address_param(params)
    ws.customer.addresses = [address, *ws.customer.addresses[1:]]
    ws.customer_changed = True
    return Effect(
        remedy.id,
        remedy.kind,
        ZERO,
        [],
        "changed the customer's default address",
        f"Your default address is now {address.address1}, {address.city}.",
    )


def apply(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy) -> Effect:
    kind = remedy.kind
    if kind is RemedyKind.UPDATE_PROFILE_ADDRESS:
        return update_profile_address(ws, remedy, params)
    if kind is RemedyKind.CANCEL:
        return cancel(ws, remedy, params)
    if kind is RemedyKind.MODIFY_ADDRESS:
        return modify_address(ws, remedy, params)
    if kind is RemedyKind.MODIFY_ITEMS:
        return modify_items(ws, remedy, params)
    if kind is RemedyKind.MODIFY_PAYMENT:
        return modify_payment(ws, remedy, params)
    if kind in (RemedyKind.RETURN_LABEL,):
        return return_items(ws, remedy, params, policy)
    if kind is RemedyKind.EXCHANGE:
        return exchange(ws, remedy, params, policy)
    if kind is RemedyKind.REFUND:
        return refund(ws, remedy, params, policy)
    if kind in (RemedyKind.STORE_CREDIT, RemedyKind.SHIPPING_CREDIT):
        return store_credit(ws, remedy, params, policy)
    if kind in (RemedyKind.REPLACEMENT, RemedyKind.UPGRADE):
        return ship_free(ws, remedy, params, policy)
    if kind is RemedyKind.KEEP_ITEM:
        return keep_item(ws, remedy, params, policy)
    return flat_cost(ws, remedy, params, policy)
