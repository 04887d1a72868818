"""Orders: what was bought, how it was paid, and how (and when) it ships."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from caredesk.domain.customers import Address
from caredesk.domain.money import ZERO, money_sum


class OrderStatus(StrEnum):
    PENDING = "pending"
    PENDING_MODIFIED = "pending (item modified)"
    PROCESSED = "processed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURN_REQUESTED = "return requested"
    EXCHANGE_REQUESTED = "exchange requested"


class TransactionType(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(slots=True)
class OrderLine:
    variant_id: str
    product_id: str
    name: str
    price: Decimal
    options: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PaymentTransaction:
    transaction_type: TransactionType
    amount: Decimal
    payment_method_id: str
    created_at: datetime | None = None


@dataclass(slots=True)
class Shipment:
    """One shipment of some of the order's lines, with its tracking and promised date."""

    tracking_ids: list[str]
    variant_ids: list[str]
    carrier: str | None = None
    shipped_at: datetime | None = None
    promised_date: date | None = None
    delivered_at: datetime | None = None


@dataclass(slots=True)
class Order:
    id: str
    customer_id: str
    status: OrderStatus
    address: Address
    lines: list[OrderLine] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    payments: list[PaymentTransaction] = field(default_factory=list)
    placed_at: datetime | None = None
    # Facts a change to the order records (cancel reason, return or exchange details),
    # kept as named attributes so exports can reproduce them exactly.
    details: dict[str, object] = field(default_factory=dict)
    version: int = 1

    def clone(self) -> Order:
        """A copy a remedy may change freely; see Customer.clone."""
        return Order(
            id=self.id,
            customer_id=self.customer_id,
            status=self.status,
            address=replace(self.address),
            lines=[replace(line, options=dict(line.options)) for line in self.lines],
            shipments=[
                replace(f, tracking_ids=list(f.tracking_ids), variant_ids=list(f.variant_ids))
                for f in self.shipments
            ],
            payments=[replace(p) for p in self.payments],
            placed_at=self.placed_at,
            details=copy.deepcopy(self.details),
            version=self.version,
        )

    @property
    def total(self) -> Decimal:
        return money_sum([line.price for line in self.lines])

    @property
    def amount_paid(self) -> Decimal:
        return money_sum(
            [
                p.amount if p.transaction_type is TransactionType.PAYMENT else -p.amount
                for p in self.payments
            ]
        )

    @property
    def refunded_in_full(self) -> bool:
        """Every payment made on the order was given back."""
        refunded = any(p.transaction_type is TransactionType.REFUND for p in self.payments)
        return refunded and self.amount_paid <= ZERO

    @property
    def kept_items(self) -> list[str]:
        """The items the customer was told to keep instead of sending them back."""
        kept = self.details.get("keep_items")
        return [str(item) for item in kept] if isinstance(kept, list) else []

    @property
    def promised_date(self) -> date | None:
        dates = [f.promised_date for f in self.shipments if f.promised_date]
        return max(dates) if dates else None
