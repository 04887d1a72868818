"""The demo's customers: names, addresses, phones and ways to pay, drawn from customers.yaml,
with ids and addresses that look real and never repeat."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from caredesk.demo.schema import StoryCustomer
from caredesk.demo.tables import customer_data
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.money import CENT
from caredesk.domain.orders import Order


def _letters(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


class Ids:
    """Unique, realistic-looking ids and addresses, drawn from the shared random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _fresh(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def customer(self, first: str, last: str) -> str:
        return self._fresh(
            lambda: f"{_letters(first)}_{_letters(last)}_{self.rng.randint(1000, 9999)}"
        )

    def email(self, first: str, last: str) -> str:
        f, l_ = _letters(first), _letters(last)
        local = self.rng.choice((f"{f}.{l_}", f"{f[0]}{l_}", f"{f}{l_[0]}", f"{f}_{l_}"))
        domain = self.rng.choice(customer_data().email_domains)
        candidate = f"{local}@{domain}"
        if candidate not in self.used:
            self.used.add(candidate)
            return candidate
        return self._fresh(lambda: f"{local}{self.rng.randint(2, 99)}@{domain}")

    def order(self) -> str:
        return self._fresh(lambda: f"W{self.rng.randint(1_000_000, 9_999_999)}")

    def payment(self, kind: PaymentKind) -> str:
        return self._fresh(lambda: f"{kind.value}_{self.rng.randint(1_000_000, 9_999_999)}")

    def tracking(self, carrier: str) -> str:
        rng = self.rng
        if carrier == "UPS":
            alphabet = "0123456789ABCDEFGHJKLMNPRSTVWXYZ"
            return self._fresh(lambda: "1Z" + "".join(rng.choices(alphabet, k=16)))
        if carrier == "USPS":
            return self._fresh(lambda: f"9400{rng.randint(10**17, 10**18 - 1)}")
        if carrier == "FedEx":
            return self._fresh(lambda: str(rng.randint(10**11, 10**12 - 1)))
        return self._fresh(lambda: str(rng.randint(10**9, 10**10 - 1)))


@dataclass(slots=True)
class DemoCustomer:
    """A customer as the builder grows them: the record, then their orders and gift cards."""

    customer: Customer
    orders: list[Order] = field(default_factory=list)
    # What is left on each gift card, spent and refunded as orders are placed.
    balances: dict[str, Decimal] = field(default_factory=dict)

    def settle_balances(self) -> None:
        for method in self.customer.payment_methods:
            if method.id in self.balances:
                method.balance = self.balances[method.id]


def _address(rng: random.Random) -> Address:
    data = customer_data()
    city = rng.choice(data.cities)
    return Address(
        address1=(
            f"{rng.randint(10, 9999)} {rng.choice(data.streets)} {rng.choice(data.street_kinds)}"
        ),
        address2=rng.choice(
            ("", "", "", f"Apt {rng.randint(1, 40)}", f"Suite {rng.randint(100, 500)}")
        ),
        city=city.name,
        state=city.state,
        zip=f"{city.zip_prefix}{rng.randint(0, 99):02d}",
        country="USA",
    )


def _phone(rng: random.Random, address: Address) -> str:
    area = next(c.area_code for c in customer_data().cities if c.name == address.city)
    # 555-01xx numbers are set aside for fiction.
    return f"+1 {area} 555 01{rng.randint(0, 99):02d}"


def _card(rng: random.Random, ids: Ids) -> PaymentMethod:
    return PaymentMethod(
        ids.payment(PaymentKind.CREDIT_CARD),
        PaymentKind.CREDIT_CARD,
        rng.choice(customer_data().card_brands),
        f"{rng.randint(0, 9999):04d}",
    )


def _payment_methods(
    rng: random.Random, ids: Ids, *, gift_card: bool
) -> tuple[list[PaymentMethod], dict[str, Decimal]]:
    """Cards, PayPal, and (where `gift_card` allows) a gift card with what it holds."""
    methods: list[PaymentMethod] = []
    balances: dict[str, Decimal] = {}
    if rng.random() < 0.9:
        methods.append(_card(rng, ids))
        if rng.random() < 0.15:
            methods.append(_card(rng, ids))
    if not methods or rng.random() < 0.35:
        methods.append(PaymentMethod(ids.payment(PaymentKind.PAYPAL), PaymentKind.PAYPAL))
    if gift_card and rng.random() < 0.2:
        gift = PaymentMethod(ids.payment(PaymentKind.GIFT_CARD), PaymentKind.GIFT_CARD)
        balances[gift.id] = Decimal(rng.choice(customer_data().gift_card_amounts)).quantize(CENT)
        methods.append(gift)
    return methods, balances


def new_customer(
    rng: random.Random,
    ids: Ids,
    now: datetime,
    person: StoryCustomer | None = None,
) -> DemoCustomer:
    """A random customer, or a story's `person`: their name, address and age, exactly their
    membership, and no gift card."""
    # Drawn in this order, so that the same seed builds the same store.
    if person is None:
        first = rng.choice(customer_data().first_names)
        last = rng.choice(customer_data().last_names)
    else:
        first, last = person.first_name, person.last_name
    customer_id = ids.customer(first, last)
    if person is None:
        email = ids.email(first, last)
        days_ago = rng.randint(20, 1400)
    else:
        email, days_ago = person.email, person.days_ago
        ids.used.add(email)
    since = now - timedelta(days=days_ago, minutes=rng.randint(0, 1439))
    addresses = [_address(rng)]
    if rng.random() < 0.15:
        addresses.append(_address(rng))
    methods, balances = _payment_methods(rng, ids, gift_card=person is None)
    membership = None if person is None else person.membership
    if person is None and rng.random() < 0.3:
        membership = rng.choice(customer_data().memberships)
    customer = Customer(
        id=customer_id,
        first_name=first,
        last_name=last,
        emails=[email],
        phones=[_phone(rng, addresses[0])],
        addresses=addresses,
        membership=membership,
        payment_methods=methods,
        created_at=since,
        updated_at=since,
    )
    demo_customer = DemoCustomer(customer, balances=balances)
    demo_customer.settle_balances()
    return demo_customer
