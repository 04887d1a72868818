"""Factories for the records a test puts in a desk: customers, products and their variants,
orders with their lines, payments and shipments.

Each factory fills in what most tests do not care about (an address, a card, a payment for
the whole order) and takes keywords for what a test does care about; `store` writes the
records in one unit of work, as the catalogue and order imports do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from caredesk.bootstrap import Container
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)

ELM_STREET = Address("5 Elm St", city="Austin", state="TX", zip="73301")
# A customer's card unless a test names another: `card_<customer id>`.
OWN_CARD = "own"


def customer(
    customer_id: str,
    now: datetime,
    *,
    first_name: str | None = None,
    last_name: str = "Example",
    email: str | None = None,
    addresses: list[Address] | None = None,
    card: str | None = OWN_CARD,
    last_four: str = "4242",
    gift_card: Decimal | None = None,
    customer_for: timedelta = timedelta(0),
    membership: str | None = None,
) -> Customer:
    """A customer with one email, an address in Austin and a Visa card (`card_<id>`); with
    `gift_card`, a gift card (`gift_<id>`) with that balance too."""
    methods = []
    if card is not None:
        card_id = f"card_{customer_id}" if card == OWN_CARD else card
        methods.append(PaymentMethod(card_id, PaymentKind.CREDIT_CARD, "visa", last_four))
    if gift_card is not None:
        methods.append(
            PaymentMethod(f"gift_{customer_id}", PaymentKind.GIFT_CARD, balance=gift_card)
        )
    return Customer(
        id=customer_id,
        first_name=first_name or customer_id.title(),
        last_name=last_name,
        emails=[email or f"{customer_id}@example.com"],
        addresses=[ELM_STREET] if addresses is None else addresses,
        payment_methods=methods,
        created_at=now - customer_for,
        updated_at=now,
        membership=membership,
    )


def variant(
    variant_id: str, product_id: str, price: str, cost: str | None = None, **options: str
) -> Variant:
    return Variant(
        variant_id,
        product_id,
        dict(options),
        Decimal(price),
        cost=None if cost is None else Decimal(cost),
    )


def product(product_id: str, name: str, *variants: Variant) -> Product:
    return Product(id=product_id, name=name, variants=list(variants))


def line(variant_id: str, product_id: str, name: str, price: str, **options: str) -> OrderLine:
    return OrderLine(variant_id, product_id, name, Decimal(price), dict(options))


def order(
    order_id: str,
    customer_id: str,
    now: datetime,
    *lines: OrderLine,
    status: OrderStatus = OrderStatus.DELIVERED,
    address: Address | None = None,
    paid_by: list[tuple[str, Decimal]] | None = None,
    paid_at: datetime | None = None,
    tracking: str = "1Z",
    delivered: timedelta | None = None,
    shipped: timedelta | None = None,
    placed: timedelta | None = None,
) -> Order:
    """An order of these lines, paid in full by the customer's card unless `paid_by` says
    otherwise (method id → amount; [] for unpaid). With `delivered` (or `shipped`), how long
    ago, one parcel carried every line; the order was placed `placed` ago (four days before
    its delivery unless said)."""
    total = sum((item.price for item in lines), Decimal(0))
    payments = [(f"card_{customer_id}", total)] if paid_by is None else paid_by
    shipments = []
    if delivered is not None or shipped is not None:
        shipments.append(
            Shipment(
                [tracking],
                [item.variant_id for item in lines],
                shipped_at=None if shipped is None else now - shipped,
                delivered_at=None if delivered is None else now - delivered,
            )
        )
    if placed is None:
        placed = (delivered or shipped or timedelta(0)) + timedelta(days=4)
    return Order(
        id=order_id,
        customer_id=customer_id,
        status=status,
        address=address or Address(ELM_STREET.address1),
        lines=list(lines),
        payments=[
            PaymentTransaction(TransactionType.PAYMENT, amount, method, paid_at)
            for method, amount in payments
        ],
        shipments=shipments,
        placed_at=now - placed,
    )


def store(container: Container, *records: Customer | Product | Order) -> None:
    """Write the records in one unit of work, customers and products before orders."""
    with container.uow() as uow:
        for record in records:
            if isinstance(record, Customer):
                uow.customers.add(record)
            elif isinstance(record, Product):
                uow.products.add(record)
        for record in records:
            if isinstance(record, Order):
                uow.orders.add(record)
        uow.commit()
