"""The demo's orders: what a customer picks, how it is paid, and its life so far (processing,
shipments, delivery or cancellation), then a customer's whole order history and tier."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from caredesk.demo.catalogue import category, on_sale
from caredesk.demo.customers import DemoCustomer, Ids, new_customer
from caredesk.demo.tables import catalogue_data, customer_data
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address
from caredesk.domain.money import money_sum
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)


def spoken_date(value: date) -> str:
    """A date as a customer writes it: `Monday, March 2`."""
    return f"{value:%A, %B} {value.day}"


def _pay(
    rng: random.Random, demo_customer: DemoCustomer, total: Decimal, at: datetime
) -> list[PaymentTransaction]:
    """Gift card first when the customer has one with money on it, the rest by card or PayPal."""
    payments = []
    remaining = total
    for method_id, balance in demo_customer.balances.items():
        if balance > 0 and remaining > 0 and rng.random() < 0.7:
            used = min(balance, remaining)
            demo_customer.balances[method_id] = balance - used
            remaining -= used
            payments.append(PaymentTransaction(TransactionType.PAYMENT, used, method_id, at))
    if remaining > 0:
        direct = [m for m in demo_customer.customer.payment_methods if not m.has_balance]
        method = rng.choice(direct)
        payments.append(PaymentTransaction(TransactionType.PAYMENT, remaining, method.id, at))
    return payments


def _pick_lines(
    rng: random.Random,
    products: dict[str, Product],
    favourites: list[str],
    placed: datetime,
    now: datetime,
) -> list[tuple[Product, Variant]]:
    catalogue = list(products.values())
    liked = [p for p in catalogue if category(p) in favourites]
    weights = customer_data().lines_per_order_weights
    picked = []
    for _ in range(rng.choices(range(1, len(weights) + 1), weights)[0]):
        while True:
            product = rng.choice(liked if liked and rng.random() < 0.6 else catalogue)
            if on_sale(product.id, placed, now):
                break
        picked.append((product, rng.choice(product.variants)))
    return picked


@dataclass(frozen=True, slots=True)
class _Basket:
    """What an order is before its life starts: who, where to, what, and how it was paid."""

    customer_id: str
    address: Address
    lines: list[OrderLine]
    payments: list[PaymentTransaction]
    placed: datetime


def place_order(
    rng: random.Random,
    ids: Ids,
    demo_customer: DemoCustomer,
    lines: list[tuple[Product, Variant]],
    placed: datetime,
    now: datetime,
    *,
    promised: date | None = None,
    transit: timedelta | None = None,
    cancel: bool = False,
) -> Order:
    """One order and its life so far: payment, processing, shipments, delivery.

    `promised` and `transit` pin the schedule (the stories need a date missed or a parcel
    still on its way); otherwise it is drawn, with a few deliveries arriving late.
    """
    customer = demo_customer.customer
    order_lines = [OrderLine(v.id, p.id, p.name, v.price, dict(v.options)) for p, v in lines]
    total = money_sum([line.price for line in order_lines])
    address = customer.addresses[0]
    if len(customer.addresses) > 1 and rng.random() < 0.3:
        address = customer.addresses[1]
    payments = _pay(rng, demo_customer, total, placed)
    basket = _Basket(customer.id, address, order_lines, payments, placed)
    if cancel:
        return _cancelled(rng, ids, demo_customer, basket)
    return _fulfilled(rng, ids, basket, now, promised, transit)


def _cancelled(rng: random.Random, ids: Ids, demo_customer: DemoCustomer, basket: _Basket) -> Order:
    """Cancelled within two hours, each payment refunded to where it came from."""
    cancelled_at = basket.placed + timedelta(minutes=rng.randint(10, 110))
    payments = list(basket.payments)
    for payment in basket.payments:
        payments.append(
            PaymentTransaction(
                TransactionType.REFUND, payment.amount, payment.payment_method_id, cancelled_at
            )
        )
        if payment.payment_method_id in demo_customer.balances:
            demo_customer.balances[payment.payment_method_id] += payment.amount
    return Order(
        id=ids.order(),
        customer_id=basket.customer_id,
        status=OrderStatus.CANCELLED,
        address=basket.address,
        lines=basket.lines,
        payments=payments,
        placed_at=basket.placed,
        details={"cancel_reason": rng.choice(customer_data().cancel_reasons)},
    )


def _fulfilled(
    rng: random.Random,
    ids: Ids,
    basket: _Basket,
    now: datetime,
    promised: date | None,
    transit: timedelta | None,
) -> Order:
    """Processed, then shipped in one parcel or two, each delivered by now or on its way."""
    order_id = ids.order()
    processed = basket.placed + timedelta(hours=rng.randint(2, 20))
    promised = promised or (basket.placed + timedelta(days=rng.randint(5, 8))).date()
    late = transit is None and rng.random() < 0.08
    parcels = [basket.lines]
    if transit is None and len(basket.lines) > 1 and rng.random() < 0.15:
        cut = rng.randint(1, len(basket.lines) - 1)
        parcels = [basket.lines[:cut], basket.lines[cut:]]
    carrier = rng.choice(customer_data().carriers)
    shipped = processed + timedelta(hours=rng.randint(6, 40))
    # Couriers deliver through the day; the promise holds until the evening.
    promised_end = datetime.combine(promised, time(19, 0), tzinfo=basket.placed.tzinfo)
    shipments = []
    for number, parcel in enumerate(parcels):
        ship_at = shipped + timedelta(days=number * rng.randint(1, 3))
        if ship_at > now:
            break
        if transit is not None:
            arrive = ship_at + transit
        else:
            arrive = _drawn_arrival(rng, ship_at, promised_end, late=late)
        shipments.append(
            Shipment(
                tracking_ids=[ids.tracking(carrier)],
                variant_ids=[line.variant_id for line in parcel],
                carrier=carrier,
                shipped_at=ship_at,
                promised_date=promised,
                delivered_at=arrive if arrive <= now else None,
            )
        )
    return Order(
        id=order_id,
        customer_id=basket.customer_id,
        status=_status(now, processed, shipments, len(parcels)),
        address=basket.address,
        lines=basket.lines,
        shipments=shipments,
        payments=basket.payments,
        placed_at=basket.placed,
    )


def _drawn_arrival(
    rng: random.Random, ship_at: datetime, promised_end: datetime, *, late: bool
) -> datetime:
    arrive = ship_at + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 10))
    if late:
        arrive = max(arrive, promised_end + timedelta(days=rng.randint(1, 5)))
    else:
        arrive = max(min(arrive, promised_end), ship_at + timedelta(hours=20))
    return arrive - timedelta(minutes=rng.randint(0, 600))


def _status(
    now: datetime, processed: datetime, shipments: list[Shipment], parcels: int
) -> OrderStatus:
    if now < processed:
        return OrderStatus.PENDING
    if not shipments:
        return OrderStatus.PROCESSED
    if len(shipments) == parcels and all(f.delivered_at for f in shipments):
        return OrderStatus.DELIVERED
    return OrderStatus.SHIPPED


def order_history(
    rng: random.Random,
    ids: Ids,
    demo_customer: DemoCustomer,
    products: dict[str, Product],
    now: datetime,
    count: int,
    *,
    until: datetime | None = None,
) -> None:
    """`count` orders spread between the customer's sign-up and `until` (default `now`)."""
    since = demo_customer.customer.created_at
    assert since is not None
    end = until or now
    span = max(int((end - since).total_seconds()), 3600)
    favourites = rng.sample(sorted(catalogue_data().cost_rates), 2)
    # Skewed towards recent months, as a growing shop's orders are.
    offsets = sorted(600 + int((span - 600) * rng.random() ** 0.7) for _ in range(count))
    for offset in offsets:
        placed = since + timedelta(seconds=offset)
        lines = _pick_lines(rng, products, favourites, placed, now)
        cancel = placed < now - timedelta(days=1) and rng.random() < 0.05
        demo_customer.orders.append(
            place_order(rng, ids, demo_customer, lines, placed, now, cancel=cancel)
        )


def tier(orders: Iterable[Order]) -> str:
    spend = money_sum([o.total for o in orders if o.status is not OrderStatus.CANCELLED])
    return next((t.name for t in customer_data().tiers if spend >= t.spend), "standard")


def random_customer(
    rng: random.Random, ids: Ids, products: dict[str, Product], now: datetime
) -> DemoCustomer:
    """A customer drawn at random, with the orders of their years with the store."""
    demo_customer = new_customer(rng, ids, now)
    weights = customer_data().orders_per_customer_weights
    count = rng.choices(range(len(weights)), weights)[0]
    order_history(rng, ids, demo_customer, products, now, count)
    demo_customer.customer.tier = tier(demo_customer.orders)
    demo_customer.settle_balances()
    return demo_customer


def repeat_order(
    rng: random.Random,
    ids: Ids,
    demo_customer: DemoCustomer,
    products: dict[str, Product],
    placed: datetime,
    now: datetime,
) -> Order:
    """An order a customer comes back for, paid by card: their gift cards were settled when
    the store was written, so it does not draw on them."""
    favourites = sorted(
        {
            category(products[line.product_id])
            for o in demo_customer.orders
            for line in o.lines
            if line.product_id in products
        }
    )
    lines = _pick_lines(rng, products, favourites, placed, now)
    by_card = DemoCustomer(demo_customer.customer)
    return place_order(rng, ids, by_card, lines, placed, now)
