"""The order operations and remedies, exactly and without I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from caredesk.adapters.yaml_files import parse_policy
from caredesk.domain.catalog import Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.ledger import check_balanced
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    TransactionType,
)
from caredesk.domain.policy import remedies as ops
from caredesk.domain.policy.eligibility import refusals
from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.services.engine.policy import packaged_policy_text

D = Decimal
NOW = datetime(2026, 3, 2, tzinfo=UTC)
POLICY: Policy = parse_policy(packaged_policy_text("default")).policy
VARIANTS = {
    "shirt-m": Variant("shirt-m", "shirt", {"size": "M"}, D("20.00"), cost=D("8")),
    "shirt-l": Variant("shirt-l", "shirt", {"size": "L"}, D("22.50"), cost=D("9")),
    "shirt-xl": Variant("shirt-xl", "shirt", {"size": "XL"}, D("25.00"), available=False),
    "mug": Variant("mug", "mug", {}, D("9.00")),
}


def customer(gift: str = "40.00") -> Customer:
    return Customer(
        id="c1",
        first_name="A",
        last_name="B",
        payment_methods=[
            PaymentMethod("card", PaymentKind.CREDIT_CARD, "visa", "1111"),
            PaymentMethod("gift", PaymentKind.GIFT_CARD, balance=D(gift)),
        ],
    )


def order(status: OrderStatus = OrderStatus.PENDING, paid_with: str = "gift") -> Order:
    return Order(
        id="o1",
        customer_id="c1",
        status=status,
        address=Address("1 Main St"),
        lines=[
            OrderLine("shirt-m", "shirt", "Shirt", D("20.00")),
            OrderLine("shirt-m", "shirt", "Shirt", D("20.00")),
        ],
        payments=[PaymentTransaction(TransactionType.PAYMENT, D("40.00"), paid_with)],
    )


def remedy(kind: RemedyKind, **extra: object) -> RemedyDef:
    return RemedyDef.model_validate(
        {"id": kind.value.replace("_", "-"), "kind": kind, "label": "x", **extra}
    )


def workspace(o: Order | None = None, c: Customer | None = None) -> ops.Workspace:
    return ops.Workspace.of(c or customer(), o if o is not None else order(), VARIANTS, NOW)


def test_cancel_refunds_every_payment_and_credits_gift_cards_at_once() -> None:
    ws = workspace()
    effect = ops.apply(ws, remedy(RemedyKind.CANCEL), {"reason": "no longer needed"}, POLICY)
    assert ws.order is not None
    assert ws.order.status is OrderStatus.CANCELLED
    assert ws.order.details["cancel_reason"] == "no longer needed"
    assert ws.order.payments[-1].transaction_type is TransactionType.REFUND
    assert ws.customer.payment_method("gift").balance == D("80.00")  # type: ignore[union-attr]
    check_balanced(effect.postings)


def test_a_failed_operation_leaves_the_originals_untouched() -> None:
    original_order, original_customer = order(paid_with="card"), customer(gift="5.00")
    ws = workspace(original_order, original_customer)
    with pytest.raises(DomainError) as refused:
        ops.apply(ws, remedy(RemedyKind.MODIFY_PAYMENT), {"payment_method_id": "gift"}, POLICY)
    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert len(original_order.payments) == 1
    assert original_customer.payment_method("gift").balance == D("5.00")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (RemedyKind.CANCEL, {"reason": "no longer needed"}),
        (RemedyKind.MODIFY_ADDRESS, {"address": {"address1": "2 Side St", "city": "X"}}),
        (RemedyKind.MODIFY_PAYMENT, {"payment_method_id": "card"}),
    ],
)
def test_another_customers_order_is_never_changed(
    kind: RemedyKind, params: dict[str, object]
) -> None:
    """Whatever the policy in force says: a policy without an ownership rule is not a hole."""
    theirs = order()
    theirs.customer_id = "someone-else"
    ws = workspace(theirs)
    with pytest.raises(DomainError) as refused:
        ops.apply(ws, remedy(kind), params, POLICY)
    assert refused.value.code is ErrorCode.NOT_CUSTOMERS
    assert theirs.status is OrderStatus.PENDING
    assert len(theirs.payments) == 1


def test_modify_items_charges_the_difference_and_keeps_duplicates_apart() -> None:
    ws = workspace()
    ops.apply(
        ws,
        remedy(RemedyKind.MODIFY_ITEMS),
        {
            "item_ids": ["shirt-m", "shirt-m"],
            "new_item_ids": ["shirt-l", "shirt-m"],
            "payment_method_id": "gift",
        },
        POLICY,
    )
    assert ws.order is not None
    assert [line.variant_id for line in ws.order.lines] == ["shirt-l", "shirt-m"]
    assert ws.order.payments[-1].amount == D("2.50")
    assert ws.order.status is OrderStatus.PENDING_MODIFIED
    assert ws.customer.payment_method("gift").balance == D("37.50")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"item_ids": ["mug"], "new_item_ids": ["shirt-l"]}, ErrorCode.ITEM_NOT_IN_ORDER),
        ({"item_ids": ["shirt-m"], "new_item_ids": ["mug"]}, ErrorCode.DIFFERENT_PRODUCT),
        ({"item_ids": ["shirt-m"], "new_item_ids": ["shirt-xl"]}, ErrorCode.ITEM_UNAVAILABLE),
        (
            {"item_ids": ["shirt-m"] * 3, "new_item_ids": ["shirt-l"] * 3},
            ErrorCode.ITEM_NOT_IN_ORDER,
        ),
        (
            {"item_ids": ["shirt-m"], "new_item_ids": ["shirt-l"], "payment_method_id": "nope"},
            ErrorCode.INVALID_PAYMENT_METHOD,
        ),
    ],
)
def test_exchange_invariants(params: dict[str, object], code: ErrorCode) -> None:
    ws = workspace(order(OrderStatus.DELIVERED))
    with pytest.raises(DomainError) as refused:
        ops.apply(ws, remedy(RemedyKind.EXCHANGE), {"payment_method_id": "card", **params}, POLICY)
    assert refused.value.code is code


def test_exchange_records_the_request_without_moving_money() -> None:
    ws = workspace(order(OrderStatus.DELIVERED))
    ops.apply(
        ws,
        remedy(RemedyKind.EXCHANGE),
        {"item_ids": ["shirt-m"], "new_item_ids": ["shirt-l"], "payment_method_id": "card"},
        POLICY,
    )
    assert ws.order is not None
    assert ws.order.status is OrderStatus.EXCHANGE_REQUESTED
    assert ws.order.details["exchange_price_difference"] == "2.50"
    assert len(ws.order.payments) == 1


def test_modify_payment_moves_the_payment_and_refunds_the_gift_card() -> None:
    ws = workspace()
    effect = ops.apply(ws, remedy(RemedyKind.MODIFY_PAYMENT), {"payment_method_id": "card"}, POLICY)
    assert ws.order is not None
    assert [(p.transaction_type.value, p.payment_method_id) for p in ws.order.payments] == [
        ("payment", "gift"),
        ("payment", "card"),
        ("refund", "gift"),
    ]
    assert ws.customer.payment_method("gift").balance == D("80.00")  # type: ignore[union-attr]
    check_balanced(effect.postings)


def test_refund_never_exceeds_what_was_paid() -> None:
    ws = workspace(order(OrderStatus.DELIVERED, paid_with="card"))
    partial = remedy(RemedyKind.REFUND, amount={"of": "requested"})
    ops.apply(ws, partial, {"amount": "30"}, POLICY)
    with pytest.raises(DomainError) as refused:
        ops.apply(ws, partial, {"amount": "30"}, POLICY)
    assert refused.value.details["rule"] == "hard.refund_at_most_paid"


def test_an_order_is_settled_once_refunded_in_full_or_its_items_kept() -> None:
    ws = workspace(order(OrderStatus.DELIVERED, paid_with="card"))
    assert ws.order is not None
    partial = remedy(RemedyKind.REFUND, amount={"of": "requested"})
    ops.apply(ws, partial, {"amount": "30"}, POLICY)
    assert not ws.order.refunded_in_full
    ops.apply(ws, partial, {"amount": "10"}, POLICY)
    assert ws.order.refunded_in_full
    kept = workspace(order(OrderStatus.DELIVERED))
    assert kept.order is not None and kept.order.kept_items == []
    ops.apply(kept, remedy(RemedyKind.KEEP_ITEM), {"item_ids": ["shirt-m"]}, POLICY)
    assert kept.order.kept_items == ["shirt-m"] and not kept.order.refunded_in_full


def test_the_default_policy_keeps_an_item_for_a_reported_problem_on_an_unsettled_order() -> None:
    keep = POLICY.remedy("keep-item")
    assert keep is not None
    cheap_to_keep = {
        "customer.id": "c1",
        "order.id": "o1",
        "order.customer_id": "c1",
        "order.status": "delivered",
        "order.refunded_in_full": False,
        "order.items_kept": False,
        "request.return_cost": D("15.70"),
        "request.recoverable_value": D("6.00"),
    }

    def refused_by(facts: dict[str, object]) -> list[str]:
        return [r.rule_id for r in refusals(POLICY, keep, {**cheap_to_keep, **facts})]

    assert refused_by({}) == ["keep.problem_reported"]
    assert refused_by({"request.reason": "changed my mind"}) == ["keep.problem_reported"]
    assert refused_by({"request.reason": "damaged"}) == []
    assert refused_by({"case.issue_type": "wrong_item"}) == []
    assert refused_by({"case.issue_type": "late_delivery"}) == ["keep.problem_reported"]
    for settled in ("order.refunded_in_full", "order.items_kept"):
        assert refused_by({"request.reason": "damaged", settled: True}) == ["order.not_settled"]


def test_store_credit_opens_a_balance_and_balances_the_ledger() -> None:
    ws = workspace()
    effect = ops.apply(
        ws, remedy(RemedyKind.STORE_CREDIT, amount={"of": "fixed", "fixed": "15"}), {}, POLICY
    )
    assert ws.customer.payment_method("store_credit_c1").balance == D("15.00")  # type: ignore[union-attr]
    assert effect.cost == D("15.00")
    check_balanced(effect.postings)


def test_upgrade_ships_a_newer_model_free_as_a_new_order() -> None:
    ws = workspace(order(OrderStatus.DELIVERED))
    effect = ops.apply(
        ws, remedy(RemedyKind.UPGRADE), {"item_ids": ["shirt-m"], "upgrade_to": "shirt-l"}, POLICY
    )
    assert [o.lines[0].variant_id for o in ws.new_orders] == ["shirt-l"]
    assert ws.new_orders[0].lines[0].price == 0
    assert effect.cost == D("9") + POLICY.costs.shipping
    check_balanced(effect.postings)


@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        (RemedyKind.REFUND, {"of": "order_paid"}),
        (RemedyKind.STORE_CREDIT, {"of": "fixed", "fixed": "0"}),
        (RemedyKind.SHIPPING_CREDIT, {"of": "order_paid", "max": "0"}),
    ],
)
def test_a_money_remedy_worth_nothing_is_refused(kind: RemedyKind, amount: object) -> None:
    refunded = order(OrderStatus.DELIVERED, paid_with="card")
    refunded.payments.append(PaymentTransaction(TransactionType.REFUND, D("40.00"), "card"))
    ws = workspace(refunded)
    with pytest.raises(DomainError) as refused:
        ops.apply(ws, remedy(kind, amount=amount), {}, POLICY)
    assert refused.value.code is ErrorCode.NOT_ELIGIBLE
    assert refused.value.details["rule"] == "hard.no_zero_value"
