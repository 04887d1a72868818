"""Customers: identity, contact points, tier and membership, and how they pay."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from caredesk.domain.errors import must_match

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PaymentKind(StrEnum):
    CREDIT_CARD = "credit_card"
    PAYPAL = "paypal"
    GIFT_CARD = "gift_card"
    STORE_CREDIT = "store_credit"
    BANK_TRANSFER = "bank_transfer"


@dataclass(slots=True)
class Address:
    address1: str
    address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""


@dataclass(slots=True)
class PaymentMethod:
    """A way the customer pays. Gift cards and store credit carry a balance."""

    id: str
    kind: PaymentKind
    brand: str | None = None
    last_four: str | None = None
    balance: Decimal | None = None

    @property
    def has_balance(self) -> bool:
        return self.kind in (PaymentKind.GIFT_CARD, PaymentKind.STORE_CREDIT)

    def clone(self) -> PaymentMethod:
        return PaymentMethod(self.id, self.kind, self.brand, self.last_four, self.balance)


def normalise_email(email: str) -> str:
    value = email.strip()
    must_match(_EMAIL, value, f"{email!r} is not an email address", "emails")
    # One mailbox, one customer: addresses compare without case, as mail systems treat them.
    return value.lower()


@dataclass(slots=True)
class Customer:
    id: str
    first_name: str
    last_name: str
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    tier: str = "standard"
    membership: str | None = None
    payment_methods: list[PaymentMethod] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    def clone(self) -> Customer:
        """A copy a remedy may change freely (much cheaper than copy.deepcopy, which the
        planner would otherwise pay for every remedy it tries)."""
        return Customer(
            id=self.id,
            first_name=self.first_name,
            last_name=self.last_name,
            emails=list(self.emails),
            phones=list(self.phones),
            addresses=[replace(a) for a in self.addresses],
            tier=self.tier,
            membership=self.membership,
            payment_methods=[p.clone() for p in self.payment_methods],
            created_at=self.created_at,
            updated_at=self.updated_at,
            version=self.version,
        )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def primary_email(self) -> str | None:
        return self.emails[0] if self.emails else None

    def payment_method(self, payment_method_id: str) -> PaymentMethod | None:
        return next((pm for pm in self.payment_methods if pm.id == payment_method_id), None)
