"""Remedies the desk grants: refunds, credit, free shipments, keep-the-item, gestures."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from caredesk.domain.catalog import Variant
from caredesk.domain.customers import PaymentKind, PaymentMethod
from caredesk.domain.errors import ErrorCode, ValidationFailed
from caredesk.domain.ledger import Posting
from caredesk.domain.money import ZERO, money_sum, to_money
from caredesk.domain.orders import Order, OrderLine, OrderStatus
from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.domain.policy.remedies.workspace import (
    Effect,
    Workspace,
    check_items_in_order,
    credit_balance,
    id_list,
    need_order,
    ordered_items,
    refund_payments,
    refuse,
)


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
            item_ids = id_list(params, "item_ids")
            check_items_in_order(order, item_ids)
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
        raise refuse(
            ErrorCode.NOT_ELIGIBLE,
            f"{remedy.label} is worth nothing here ({amount})",
            rule="hard.no_zero_value",
            remedy=remedy.id,
        )
    return amount


def refund(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy) -> Effect:
    order = need_order(ws)
    amount = resolve_amount(remedy, ws, params, policy)
    postings = refund_payments(ws, order, amount, "refunds", f"refund on {order.id}")
    ws.order_changed = True
    return Effect.of(
        remedy,
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
    credit_balance(method, amount)
    ws.customer_changed = True
    what = "shipping credit" if remedy.kind is RemedyKind.SHIPPING_CREDIT else "store credit"
    return Effect.of(
        remedy,
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
    order, item_ids = ordered_items(ws, params)
    lines: list[OrderLine] = []
    goods = ZERO
    for item_id in item_ids:
        line = next(line for line in order.lines if line.variant_id == item_id)
        target_id = params.get("upgrade_to") if remedy.kind is RemedyKind.UPGRADE else item_id
        variant = ws.variants.get(str(target_id)) if target_id else None
        if variant is None or not variant.available:
            raise refuse(
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
    return Effect.of(
        remedy,
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
    order, item_ids = ordered_items(ws, params)
    kept = list(order.details.get("keep_items", []))  # type: ignore[call-overload]
    order.details["keep_items"] = [*kept, *item_ids]
    ws.order_changed = True
    return Effect.of(
        remedy,
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
    return Effect.of(
        remedy,
        cost,
        [Posting(f"goodwill:{remedy.kind.value}", cost), Posting(counter, -cost)] if cost else [],
        summary,
        told,
    )
