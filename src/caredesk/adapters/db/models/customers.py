"""Customers, the catalogue and orders with their lines, shipments and payments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Sequence, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caredesk.adapters.db.models.base import (
    Base,
    BigPk,
    Code,
    CustomerOwned,
    Email,
    Key,
    OrderOwned,
)

# Customer numbers on PostgreSQL (created by migration 0011_customer_numbers, owned by
# customers.seq): writers in parallel each draw their own. SQLite has one writer at a time.
CUSTOMER_NUMBERS = Sequence("customer_numbers")


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[Key] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    # Lower-cased "first last" so that name search can use an index on any database.
    name_key: Mapped[str] = mapped_column(String(401), index=True)
    phones: Mapped[list[str]]
    addresses: Mapped[list[dict[str, str]]]
    tier: Mapped[str] = mapped_column(String(40))
    membership: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column()
    # Set when the person's data was replaced by a tombstone (docs/privacy.md).
    erased_at: Mapped[datetime | None]

    emails: Mapped[list[CustomerEmailRow]] = relationship(
        order_by="CustomerEmailRow.position", cascade="all, delete-orphan", lazy="selectin"
    )
    payment_methods: Mapped[list[PaymentMethodRow]] = relationship(
        order_by="PaymentMethodRow.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}
    # The users' incremental export (/api/v2) reads customers in the order they changed.
    __table_args__ = (Index("ix_customers_updated", "updated_at", "id"),)


class CustomerEmailRow(Base):
    __tablename__ = "customer_emails"
    # Addresses are unique across customers: one mailbox, one customer.
    email: Mapped[Email] = mapped_column(primary_key=True)
    customer_id: Mapped[CustomerOwned] = mapped_column(index=True)
    position: Mapped[int]


class PaymentMethodRow(Base):
    __tablename__ = "payment_methods"
    id: Mapped[Key] = mapped_column(primary_key=True)
    customer_id: Mapped[CustomerOwned] = mapped_column(index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(40))
    last_four: Mapped[str | None] = mapped_column(String(4))
    balance: Mapped[Decimal | None]


class ProductRow(Base):
    __tablename__ = "products"
    id: Mapped[Key] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    description: Mapped[str]

    variants: Mapped[list[VariantRow]] = relationship(
        order_by="VariantRow.position", cascade="all, delete-orphan", lazy="selectin"
    )


class VariantRow(Base):
    __tablename__ = "variants"
    id: Mapped[Key] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    options: Mapped[dict[str, str]]
    price: Mapped[Decimal]
    cost: Mapped[Decimal | None]
    available: Mapped[bool]
    sku: Mapped[Key | None]


class OrderRow(Base):
    __tablename__ = "orders"
    id: Mapped[Key] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(40))
    address: Mapped[dict[str, str]]
    placed_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column()

    lines: Mapped[list[OrderLineRow]] = relationship(
        order_by="OrderLineRow.position", cascade="all, delete-orphan", lazy="selectin"
    )
    shipments: Mapped[list[ShipmentRow]] = relationship(
        order_by="ShipmentRow.position", cascade="all, delete-orphan", lazy="selectin"
    )
    payments: Mapped[list[PaymentTransactionRow]] = relationship(
        order_by="PaymentTransactionRow.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_orders_customer_seq", "customer_id", "seq"),
        # The retention report's orders of a customer before and after a case (migration 0033).
        Index("ix_orders_customer_placed", "customer_id", "placed_at"),
    )
    __mapper_args__ = {"version_id_col": version}


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    id: Mapped[BigPk]
    order_id: Mapped[OrderOwned]
    position: Mapped[int]
    variant_id: Mapped[Key] = mapped_column(index=True)
    product_id: Mapped[Key]
    name: Mapped[str] = mapped_column(String(300))
    price: Mapped[Decimal]
    options: Mapped[dict[str, str]]


class ShipmentRow(Base):
    __tablename__ = "shipments"
    id: Mapped[BigPk]
    order_id: Mapped[OrderOwned]
    position: Mapped[int]
    tracking_ids: Mapped[list[str]]
    variant_ids: Mapped[list[str]]
    carrier: Mapped[str | None] = mapped_column(String(60))
    shipped_at: Mapped[datetime | None]
    promised_date: Mapped[date | None]
    delivered_at: Mapped[datetime | None]


class PaymentTransactionRow(Base):
    __tablename__ = "payment_transactions"
    id: Mapped[BigPk]
    order_id: Mapped[OrderOwned]
    position: Mapped[int]
    transaction_type: Mapped[Code]
    amount: Mapped[Decimal]
    payment_method_id: Mapped[Key] = mapped_column(index=True)
    created_at: Mapped[datetime | None]
