"""Changes a customer asks for: cancelling or editing an order, returns, exchanges, an address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caredesk.domain.customers import Address
from caredesk.domain.errors import ErrorCode, ValidationFailed
from caredesk.domain.ledger import Posting, charge_from, refund_to
from caredesk.domain.money import ZERO
from caredesk.domain.orders import OrderLine, OrderStatus, TransactionType
from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.domain.policy.remedies.workspace import (
    Effect,
    Workspace,
    credit_balance,
    id_list,
    need_order,
    ordered_items,
    pay_balance,
    payment_method,
    record_payment,
    refuse,
    swap_prices,
)


def cancel(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    order = need_order(ws)
    postings: list[Posting] = []
    # Every original payment is returned in full; gift cards are credited at once.
    for payment in [p for p in order.payments if p.transaction_type is TransactionType.PAYMENT]:
        method = ws.customer.payment_method(payment.payment_method_id)
        record_payment(
            order, TransactionType.REFUND, payment.amount, payment.payment_method_id, ws.now
        )
        if method is not None:
            credit_balance(method, payment.amount)
            postings += refund_to(method, payment.amount, "sales", f"cancel {order.id}")
    order.status = OrderStatus.CANCELLED
    order.details["cancel_reason"] = params.get("reason")
    ws.order_changed = ws.customer_changed = True
    return Effect.of(
        remedy,
        ZERO,
        postings,
        f"cancelled order {order.id} ({params.get('reason')})",
        f"Your order {order.id} is cancelled and its payment refunded.",
    )


def modify_address(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    order = need_order(ws)
    order.address = address_param(params)
    ws.order_changed = True
    return Effect.of(
        remedy,
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
    order = need_order(ws)
    item_ids, new_item_ids = id_list(params, "item_ids"), id_list(params, "new_item_ids")
    diff = swap_prices(ws, order, item_ids, new_item_ids)
    method = payment_method(ws, params.get("payment_method_id"))
    pay_balance(method, diff, "the new items") if diff > ZERO else credit_balance(method, -diff)
    record_payment(
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
    return Effect.of(
        remedy,
        ZERO,
        postings if diff != ZERO else [],
        f"changed {len(item_ids)} item(s) of order {order.id}, difference {diff}",
        f"Order {order.id} now has the items you chose; the difference is {diff}.",
    )


def modify_payment(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    order = need_order(ws)
    payments = list(order.payments)
    if len(payments) != 1 or payments[0].transaction_type is not TransactionType.PAYMENT:
        raise refuse(ErrorCode.CONFLICT, f"order {order.id} must have exactly one payment to move")
    original = payments[0]
    method = payment_method(ws, params.get("payment_method_id"))
    old = ws.customer.payment_method(original.payment_method_id)
    pay_balance(method, original.amount, "the order")
    record_payment(order, TransactionType.PAYMENT, original.amount, method.id, ws.now)
    record_payment(
        order, TransactionType.REFUND, original.amount, original.payment_method_id, ws.now
    )
    memo = f"move payment of {order.id}"
    postings = charge_from(method, original.amount, memo)
    if old is not None:
        credit_balance(old, original.amount)
        postings += refund_to(old, original.amount, "sales", memo)
    ws.order_changed = ws.customer_changed = True
    return Effect.of(
        remedy,
        ZERO,
        postings,
        f"moved the payment of order {order.id} to {method.id}",
        f"Order {order.id} is now paid with {method.id}; the original payment is refunded.",
    )


def return_items(
    ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy
) -> Effect:
    order, item_ids = ordered_items(ws, params)
    method = payment_method(ws, params.get("payment_method_id"))
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
    return Effect.of(
        remedy,
        cost,
        postings,
        f"return of {len(item_ids)} item(s) from order {order.id}, refund to {method.id}",
        f"We have emailed you how to return the items from order {order.id}.",
    )


def exchange(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy) -> Effect:
    order = need_order(ws)
    item_ids, new_item_ids = id_list(params, "item_ids"), id_list(params, "new_item_ids")
    diff = swap_prices(ws, order, item_ids, new_item_ids)
    method = payment_method(ws, params.get("payment_method_id"))
    if method.has_balance and (method.balance or ZERO) < diff:
        raise refuse(
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
    return Effect.of(
        remedy,
        cost,
        postings,
        f"exchange of {len(item_ids)} item(s) in order {order.id}, difference {diff}",
        f"We have emailed you how to send back the items from order {order.id}.",
    )


def update_profile_address(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any]) -> Effect:
    address = address_param(params)
    ws.customer.addresses = [address, *ws.customer.addresses[1:]]
    ws.customer_changed = True
    return Effect.of(
        remedy,
        ZERO,
        [],
        "changed the customer's default address",
        f"Your default address is now {address.address1}, {address.city}.",
    )
