"""The planner tries each remedy on clones: a clone is equal to its original and independent."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def customer() -> Customer:
    return Customer(
        id="c1",
        first_name="Ada",
        last_name="Lovelace",
        emails=["ada@example.com"],
        phones=["+44 1"],
        addresses=[Address("1 Road", "Flat 2", "Leeds", "WY", "LS1", "UK")],
        tier="gold",
        membership="plus",
        payment_methods=[PaymentMethod("gc", PaymentKind.GIFT_CARD, "gift", "0001", Decimal(5))],
        created_at=AT,
        updated_at=AT,
        version=3,
    )


def order() -> Order:
    return Order(
        id="W1",
        customer_id="c1",
        status=OrderStatus.DELIVERED,
        address=Address("1 Road", city="Leeds"),
        lines=[OrderLine("v1", "p1", "Lamp", Decimal("9.50"), {"colour": "red"})],
        shipments=[Shipment(["T1"], ["v1"], "ups", AT, date(2026, 3, 5), AT)],
        payments=[PaymentTransaction(TransactionType.PAYMENT, Decimal("9.50"), "gc", AT)],
        placed_at=AT,
        details={"return": {"items": ["v1"]}},
        version=2,
    )


def test_every_field_is_set_in_the_examples() -> None:
    # A new field left at its default would let clone() forget it without this test noticing.
    for obj in (customer(), order()):
        cls = type(obj)
        blank = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        assert all(getattr(obj, name) != getattr(cls, name, None) for name in blank), cls


def test_a_customer_clone_is_equal_and_independent() -> None:
    original = customer()
    twin = original.clone()
    assert twin == original
    twin.payment_methods[0].balance = Decimal(0)
    twin.addresses[0].city = "York"
    twin.emails.append("x@example.com")
    assert original == customer()


def test_an_order_clone_is_equal_and_independent() -> None:
    original = order()
    twin = original.clone()
    assert twin == original
    twin.lines[0].options["colour"] = "blue"
    twin.shipments[0].variant_ids.append("v2")
    twin.payments.append(PaymentTransaction(TransactionType.REFUND, Decimal(1), "gc"))
    twin.address.city = "York"
    details = twin.details["return"]
    assert isinstance(details, dict)
    details["items"].append("v9")
    assert original == order()
