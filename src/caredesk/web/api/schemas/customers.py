"""Customers, their orders, payments and shipments, the catalogue, and erasure reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    EmailStr,
    Field,
    StringConstraints,
)

from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.erasure import ErasureReport
from caredesk.domain.orders import Order, OrderLine, PaymentTransaction, Shipment
from caredesk.web.api.schemas.base import MoneyOut, Name, OutOf, Strict


class AddressIn(Strict):
    address1: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    address2: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=120)
    zip: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=80)

    def to_domain(self) -> Address:
        return Address(**self.model_dump())


class AddressOut(OutOf[Address]):
    address1: str
    address2: str
    city: str
    state: str
    zip: str
    country: str


class PaymentMethodIn(Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    kind: PaymentKind
    brand: str | None = Field(default=None, max_length=40)
    last_four: str | None = Field(default=None, pattern=r"^\d{4}$")
    balance: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)

    def to_domain(self) -> PaymentMethod:
        return PaymentMethod(**self.model_dump())


class PaymentMethodOut(OutOf[PaymentMethod]):
    id: str
    kind: PaymentKind
    brand: str | None
    last_four: str | None
    balance: MoneyOut | None


class CustomerIn(Strict):
    id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="Your own id, if any."
    )
    first_name: Name
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    emails: list[EmailStr] = Field(min_length=1, max_length=20)
    phones: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=20
    )
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    tier: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "standard"
    membership: str | None = Field(default=None, max_length=40)
    payment_methods: list[PaymentMethodIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(Strict):
    version: int | None = Field(default=None, description="The version you read (or If-Match).")
    first_name: Name | None = None
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = (
        None
    )
    emails: list[EmailStr] | None = Field(default=None, min_length=1, max_length=20)
    phones: list[Annotated[str, StringConstraints(max_length=40)]] | None = None
    addresses: list[AddressIn] | None = None
    tier: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    membership: str | None = None


class CustomerOut(OutOf[Customer]):
    id: str
    first_name: str
    last_name: str
    name: str
    emails: list[str]
    phones: list[str]
    addresses: list[AddressOut]
    tier: str
    membership: str | None
    payment_methods: list[PaymentMethodOut]
    created_at: datetime | None
    updated_at: datetime | None
    version: int


class ErasureOut(OutOf[ErasureReport]):
    """What an erasure replaced, per kind of record (empty when it was erased before)."""

    customer_id: str
    erased_at: datetime
    already_erased: bool
    counts: dict[str, int]


class VariantOut(OutOf[Variant]):
    id: str
    product_id: str
    options: dict[str, str]
    price: MoneyOut
    available: bool


class ProductOut(OutOf[Product]):
    id: str
    name: str
    description: str
    variants: list[VariantOut]


class OrderLineOut(OutOf[OrderLine]):
    variant_id: str
    product_id: str
    name: str
    price: MoneyOut
    options: dict[str, str]


class ShipmentOut(OutOf[Shipment]):
    tracking_ids: list[str]
    variant_ids: list[str]
    carrier: str | None
    shipped_at: datetime | None
    promised_date: date | None
    delivered_at: datetime | None


class PaymentOut(OutOf[PaymentTransaction]):
    transaction_type: str
    amount: MoneyOut
    payment_method_id: str
    created_at: datetime | None


class OrderOut(OutOf[Order]):
    id: str
    customer_id: str
    status: str
    address: AddressOut
    lines: list[OrderLineOut]
    shipments: list[ShipmentOut]
    # Clients written before the field was named after the glossary read `fulfilments`;
    # it repeats `shipments` until they have moved (docs/glossary.md, "Deprecated names").
    fulfilments: list[ShipmentOut] = Field(
        deprecated="Use `shipments`: the same list under the glossary's name."
    )
    payments: list[PaymentOut]
    total: MoneyOut
    placed_at: datetime | None
    promised_date: date | None

    @classmethod
    def of(cls, source: Order, **converted: Any) -> Self:
        status = source.status.value
        return super().of(source, status=status, fulfilments=source.shipments, **converted)
