"""Repositories for customers, the catalogue and orders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, joinedload
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import flag_modified

from caredesk.adapters.db import mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.conflicts import version_conflict
from caredesk.adapters.db.cursors import page_by_key, walk
from caredesk.adapters.db.rows import TableReader, from_row, got, insert
from caredesk.adapters.db.search import escape_like
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Customer
from caredesk.domain.orders import Order
from caredesk.services.core.ports import Page


def _next_seq(session: OrmSession, column: InstrumentedAttribute[int]) -> int:
    return int(session.scalar(select(func.coalesce(func.max(column), 0))) or 0) + 1


def _next_customer_number(session: OrmSession) -> int:
    if session.get_bind().dialect.name == "postgresql":
        # Two customers created at once (an API call, mail from a new sender) would both read
        # the same highest number; a sequence hands each its own, and never rolls back.
        return int(session.execute(m.CUSTOMER_NUMBERS.next_value().select()).scalar_one())
    # SQLite: a writing transaction holds the one write lock from BEGIN IMMEDIATE on.
    return _next_seq(session, m.CustomerRow.seq)


# A customer or an order is read with its child rows in one statement, not in one more per
# child table: a plan reads both on every case view. Their child rows are few.
_WHOLE_CUSTOMER = (joinedload(m.CustomerRow.emails), joinedload(m.CustomerRow.payment_methods))
_WHOLE_ORDER = (
    joinedload(m.OrderRow.lines),
    joinedload(m.OrderRow.shipments),
    joinedload(m.OrderRow.payments),
)

# Columns, not rows of the session: a plan reads a dozen variants on every case view, and
# only reads them. Built once, with what varies bound.
_VARIANTS = select(*m.VariantRow.__table__.columns).where(
    or_(
        m.VariantRow.product_id.in_(bindparam("product_ids", expanding=True)),
        m.VariantRow.id.in_(bindparam("variant_ids", expanding=True)),
    )
)

Aggregate = TypeVar("Aggregate", Customer, Order)
AggregateRow = TypeVar("AggregateRow", m.CustomerRow, m.OrderRow)


def _save_versioned(
    session: OrmSession,
    noun: str,
    record: Aggregate,
    row: AggregateRow | None,
    write: Callable[[Aggregate, AggregateRow], None],
    touched: str,
) -> None:
    """Write a record and its child rows onto its row, refused if its version is stale.

    Child rows alone would not touch the parent's row, yet every save must move its version:
    the column `touched` is marked changed."""
    assert row is not None
    if row.version != record.version:
        raise version_conflict(noun, record.id, record.version, row.version)
    write(record, row)
    flag_modified(row, touched)
    session.flush()
    record.version = row.version


class SqlCustomerRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session
        # The session's identity map holds rows weakly: one transaction asks for the same
        # customer from several handlers (references, triage, SLA), and without a strong
        # reference each ask loaded the row and its emails and payment methods again.
        self._held: dict[str, m.CustomerRow] = {}

    def add(self, customer: Customer) -> None:
        assert customer.created_at is not None
        row = m.CustomerRow(
            id=customer.id,
            seq=_next_customer_number(self.session),
            created_at=customer.created_at,
            emails=[],
            payment_methods=[],
        )
        mapping.customer_onto_row(customer, row)
        customer.version = insert(self.session, row).version
        # Who adds a customer reads it next (mail intake's triage): found without a query.
        self._held[customer.id] = row

    def _row(self, customer_id: str) -> m.CustomerRow | None:
        row = self.session.get(m.CustomerRow, customer_id, options=_WHOLE_CUSTOMER)
        if row is not None:
            self._held[customer_id] = row
        return row

    def get(self, customer_id: str) -> Customer | None:
        row = self._row(customer_id)
        return mapping.customer_from_row(row) if row else None

    def save(self, customer: Customer) -> None:
        # A balance or an email lives in a child row; the customer's version must move too.
        write = mapping.customer_onto_row
        _save_versioned(self.session, "customer", customer, self._row(customer.id), write, "phones")

    def delete(self, customer_id: str) -> None:
        row = self._row(customer_id)
        if row is not None:
            self.session.delete(row)
            self.session.flush()

    def email_owner(self, email: str) -> str | None:
        # The owner's whole row comes in the same statement and is held: whoever asks who owns
        # an address reads that customer next (mail intake's triage, the portal's sign-in).
        owner = select(m.CustomerEmailRow.customer_id).where(m.CustomerEmailRow.email == email)
        row = (
            self.session.scalars(
                select(m.CustomerRow)
                .where(m.CustomerRow.id == owner.scalar_subquery())
                .options(*_WHOLE_CUSTOMER)
            )
            .unique()
            .first()
        )
        if row is None:
            return None
        self._held[row.id] = row
        return row.id

    def has_history(self, customer_id: str) -> bool:
        return bool(
            self.session.scalar(
                select(
                    or_(
                        exists().where(m.OrderRow.customer_id == customer_id),
                        exists().where(m.CaseRow.customer_id == customer_id),
                    )
                )
            )
        )

    def search(self, query: str | None, limit: int, cursor: str | None) -> Page[Customer]:
        stmt = select(m.CustomerRow)
        if query:
            needle = query.strip().lower()
            like = f"%{escape_like(needle)}%"
            email_match = select(m.CustomerEmailRow.customer_id).where(
                func.lower(m.CustomerEmailRow.email).like(like, escape="\\")
            )
            stmt = stmt.where(
                or_(
                    m.CustomerRow.name_key.like(like, escape="\\"),
                    m.CustomerRow.id.in_(email_match),
                    m.CustomerRow.id == query.strip(),
                )
            )
        rows, next_cursor = page_by_key(self.session, stmt, m.CustomerRow.seq, limit, cursor)
        return Page([mapping.customer_from_row(r) for r in rows], next_cursor)

    def iterate(self) -> Iterator[Customer]:
        for row in walk(self.session, select(m.CustomerRow), m.CustomerRow.seq):
            yield mapping.customer_from_row(row)


class SqlProductRepository(TableReader[Product, m.ProductRow]):
    entity, table = Product, m.ProductRow

    def read(self, row: m.ProductRow) -> Product:
        return mapping.product_from_row(row)

    def add(self, product: Product) -> None:
        row = m.ProductRow(
            id=product.id, seq=_next_seq(self.session, m.ProductRow.seq), variants=[]
        )
        mapping.product_onto_row(product, row)
        insert(self.session, row)

    def save(self, product: Product) -> None:
        row = self.session.get(m.ProductRow, product.id)
        assert row is not None
        mapping.product_onto_row(product, row)
        self.session.flush()

    def get_variant(self, variant_id: str) -> Variant | None:
        return got(self.session, Variant, m.VariantRow, variant_id)

    def variants(self, product_ids: set[str], variant_ids: set[str]) -> list[Variant]:
        if not product_ids and not variant_ids:
            return []
        found = self.session.execute(
            _VARIANTS, {"product_ids": sorted(product_ids), "variant_ids": sorted(variant_ids)}
        )
        return [from_row(Variant, row) for row in found]

    def find(self, limit: int, cursor: str | None) -> Page[Product]:
        rows, next_cursor = page_by_key(
            self.session, select(m.ProductRow), m.ProductRow.seq, limit, cursor
        )
        return Page([mapping.product_from_row(r) for r in rows], next_cursor)

    def iterate(self) -> Iterator[Product]:
        for row in self.session.scalars(select(m.ProductRow).order_by(m.ProductRow.seq)):
            yield mapping.product_from_row(row)


class SqlOrderRepository(TableReader[Order, m.OrderRow]):
    entity, table = Order, m.OrderRow

    def read(self, row: m.OrderRow) -> Order:
        return mapping.order_from_row(row)

    def get(self, key: str) -> Order | None:
        return self.found(self.session.get(m.OrderRow, key, options=_WHOLE_ORDER))

    def add(self, order: Order) -> None:
        row = m.OrderRow(
            id=order.id,
            seq=_next_seq(self.session, m.OrderRow.seq),
            lines=[],
            shipments=[],
            payments=[],
        )
        mapping.order_onto_row(order, row)
        order.version = insert(self.session, row).version

    def save(self, order: Order) -> None:
        row = self.session.get(m.OrderRow, order.id)
        _save_versioned(self.session, "order", order, row, mapping.order_onto_row, "details")

    def for_customer(self, customer_id: str) -> list[Order]:
        return self.listed(m.OrderRow.customer_id == customer_id, order_by=m.OrderRow.seq)

    def owned_items(self, customer_id: str) -> tuple[set[str], set[str]]:
        # One statement over the lines: triage asks it of every new message, and loading the
        # orders whole (lines, shipments, payments) to read two columns was most of its cost.
        rows = self.session.execute(
            select(m.OrderLineRow.product_id, m.OrderLineRow.variant_id)
            .join(m.OrderRow, m.OrderRow.id == m.OrderLineRow.order_id)
            .where(m.OrderRow.customer_id == customer_id)
            .distinct()
        ).all()
        return {product for product, _ in rows}, {variant for _, variant in rows}

    def latest_id(self, customer_id: str) -> str | None:
        return self.session.scalar(
            select(m.OrderRow.id)
            .where(m.OrderRow.customer_id == customer_id)
            .order_by(m.OrderRow.seq.desc())
            .limit(1)
        )

    def iterate(self) -> Iterator[Order]:
        for row in walk(self.session, select(m.OrderRow), m.OrderRow.seq):
            yield mapping.order_from_row(row)
