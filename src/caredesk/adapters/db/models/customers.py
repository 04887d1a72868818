"""Customers, the catalogue and orders with their lines, shipments and payments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caredesk.adapters.db.models.base import Base, BigId, Money
from caredesk.adapters.db.types import JsonType, UTCDateTime

# Customer numbers on PostgreSQL (created by migration 0011_customer_numbers, owned by
# customers.seq): writers in parallel each draw their own. SQLite has one writer at a time.
CUSTOMER_NUMBERS = Sequence("customer_numbers")


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    # Lower-cased "first last" so that name search can use an index on any database.
    name_key: Mapped[str] = mapped_column(String(401), index=True)
    phones: Mapped[list[str]] = mapped_column(JsonType)
    addresses: Mapped[list[dict[str, str]]] = mapped_column(JsonType)
    tier: Mapped[str] = mapped_column(String(40))
    membership: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    # Set when the person's data was replaced by a tombstone (docs/privacy.md).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    emails: Mapped[list[CustomerEmailRow]] = relationship(
        order_by="CustomerEmailRow.position", cascade="all, delete-orphan", lazy="selectin"
    )
    payment_methods: Mapped[list[PaymentMethodRow]] = relationship(
        order_by="PaymentMethodRow.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}


class CustomerEmailRow(Base):
    __tablename__ = "customer_emails"
    # Addresses are unique across customers: one mailbox, one customer.
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)


class PaymentMethodRow(Base):
    __tablename__ = "payment_methods"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(40))
    last_four: Mapped[str | None] = mapped_column(String(4))
    balance: Mapped[Decimal | None] = mapped_column(Money)


class ProductRow(Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    description: Mapped[str] = mapped_column(Text)

    variants: Mapped[list[VariantRow]] = relationship(
        order_by="VariantRow.position", cascade="all, delete-orphan", lazy="selectin"
    )


class VariantRow(Base):
    __tablename__ = "variants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, str]] = mapped_column(JsonType)
    price: Mapped[Decimal] = mapped_column(Money)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    available: Mapped[bool] = mapped_column(Boolean)
    sku: Mapped[str | None] = mapped_column(String(64))


class OrderRow(Base):
    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(40))
    address: Mapped[dict[str, str]] = mapped_column(JsonType)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType)
    version: Mapped[int] = mapped_column(Integer)

    lines: Mapped[list[OrderLineRow]] = relationship(
        order_by="OrderLineRow.position", cascade="all, delete-orphan", lazy="selectin"
    )
    shipments: Mapped[list[ShipmentRow]] = relationship(
        order_by="ShipmentRow.position", cascade="all, delete-orphan", lazy="selectin"
    )
    payments: Mapped[list[PaymentTransactionRow]] = relationship(
        order_by="PaymentTransactionRow.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (Index("ix_orders_customer_seq", "customer_id", "seq"),)
    __mapper_args__ = {"version_id_col": version}


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[str] = mapped_column(String(64), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    price: Mapped[Decimal] = mapped_column(Money)
    options: Mapped[dict[str, str]] = mapped_column(JsonType)


class ShipmentRow(Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    tracking_ids: Mapped[list[str]] = mapped_column(JsonType)
    variant_ids: Mapped[list[str]] = mapped_column(JsonType)
    carrier: Mapped[str | None] = mapped_column(String(60))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promised_date: Mapped[date | None] = mapped_column(Date)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaymentTransactionRow(Base):
    __tablename__ = "payment_transactions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    transaction_type: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    payment_method_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
