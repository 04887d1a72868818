"""Customers, their orders, payments and shipments, the catalogue, and erasure reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
)

from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.erasure import ErasureReport
from caredesk.domain.orders import Order, OrderLine, PaymentTransaction, Shipment
from caredesk.web.api.schemas.base import MoneyOut, Name, Strict


class AddressIn(Strict):
    address1: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    address2: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=120)
    zip: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=80)

    def to_domain(self) -> Address:
        return Address(**self.model_dump())


class AddressOut(BaseModel):
    address1: str
    address2: str
    city: str
    state: str
    zip: str
    country: str

    @classmethod
    def of(cls, a: Address) -> AddressOut:
        return cls(
            address1=a.address1,
            address2=a.address2,
            city=a.city,
            state=a.state,
            zip=a.zip,
            country=a.country,
        )


class PaymentMethodIn(Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    kind: PaymentKind
    brand: str | None = Field(default=None, max_length=40)
    last_four: str | None = Field(default=None, pattern=r"^\d{4}$")
    balance: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)

    def to_domain(self) -> PaymentMethod:
        return PaymentMethod(**self.model_dump())


class PaymentMethodOut(BaseModel):
    id: str
    kind: PaymentKind
    brand: str | None
    last_four: str | None
    balance: MoneyOut | None

    @classmethod
    def of(cls, pm: PaymentMethod) -> PaymentMethodOut:
        return cls(
            id=pm.id, kind=pm.kind, brand=pm.brand, last_four=pm.last_four, balance=pm.balance
        )


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


class CustomerOut(BaseModel):
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

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id,
            first_name=c.first_name,
            last_name=c.last_name,
            name=c.name,
            emails=c.emails,
            phones=c.phones,
            addresses=[AddressOut.of(a) for a in c.addresses],
            tier=c.tier,
            membership=c.membership,
            payment_methods=[PaymentMethodOut.of(pm) for pm in c.payment_methods],
            created_at=c.created_at,
            updated_at=c.updated_at,
            version=c.version,
        )


class ErasureOut(BaseModel):
    """What an erasure replaced, per kind of record (empty when it was erased before)."""

    customer_id: str
    erased_at: datetime
    already_erased: bool
    counts: dict[str, int]

    @classmethod
    def of(cls, report: ErasureReport) -> ErasureOut:
        return cls(
            customer_id=report.customer_id,
            erased_at=report.erased_at,
            already_erased=report.already_erased,
            counts=report.counts,
        )


class VariantOut(BaseModel):
    id: str
    product_id: str
    options: dict[str, str]
    price: MoneyOut
    available: bool

    @classmethod
    def of(cls, v: Variant) -> VariantOut:
        return cls(
            id=v.id,
            product_id=v.product_id,
            options=v.options,
            price=v.price,
            available=v.available,
        )


class ProductOut(BaseModel):
    id: str
    name: str
    description: str
    variants: list[VariantOut]

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(
            id=p.id,
            name=p.name,
            description=p.description,
            variants=[VariantOut.of(v) for v in p.variants],
        )


class OrderLineOut(BaseModel):
    variant_id: str
    product_id: str
    name: str
    price: MoneyOut
    options: dict[str, str]

    @classmethod
    def of(cls, line: OrderLine) -> OrderLineOut:
        return cls(
            variant_id=line.variant_id,
            product_id=line.product_id,
            name=line.name,
            price=line.price,
            options=line.options,
        )


class ShipmentOut(BaseModel):
    tracking_ids: list[str]
    variant_ids: list[str]
    carrier: str | None
    shipped_at: datetime | None
    promised_date: date | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, s: Shipment) -> ShipmentOut:
        return cls(
            tracking_ids=s.tracking_ids,
            variant_ids=s.variant_ids,
            carrier=s.carrier,
            shipped_at=s.shipped_at,
            promised_date=s.promised_date,
            delivered_at=s.delivered_at,
        )


class PaymentOut(BaseModel):
    transaction_type: str
    amount: MoneyOut
    payment_method_id: str
    created_at: datetime | None

    @classmethod
    def of(cls, p: PaymentTransaction) -> PaymentOut:
        return cls(
            transaction_type=p.transaction_type.value,
            amount=p.amount,
            payment_method_id=p.payment_method_id,
            created_at=p.created_at,
        )


class OrderOut(BaseModel):
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
    def of(cls, o: Order) -> OrderOut:
        shipments = [ShipmentOut.of(s) for s in o.shipments]
        return cls(
            id=o.id,
            customer_id=o.customer_id,
            status=o.status.value,
            address=AddressOut.of(o.address),
            lines=[OrderLineOut.of(line) for line in o.lines],
            shipments=shipments,
            fulfilments=shipments,
            payments=[PaymentOut.of(p) for p in o.payments],
            total=o.total,
            placed_at=o.placed_at,
            promised_date=o.promised_date,
        )
