"""Translation between rows and domain objects, in one place per entity.

Each entity says only what differs from its row (`rows.py` copies the same-named fields).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, TypeVar

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import from_row, onto_row
from caredesk.domain.agents import Agent
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Attachment, Case, Message
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address, Customer, PaymentMethod
from caredesk.domain.orders import Order, OrderLine, PaymentTransaction, Shipment

R = TypeVar("R")


def address_to_json(address: Address) -> dict[str, str]:
    return dataclasses.asdict(address)


def address_from_json(data: dict[str, str]) -> Address:
    return Address(**{k: data.get(k, "") for k in Address.__slots__})


def customer_from_row(row: m.CustomerRow) -> Customer:
    return from_row(
        Customer,
        row,
        emails=[e.email for e in row.emails],
        addresses=[address_from_json(a) for a in row.addresses],
        payment_methods=[from_row(PaymentMethod, pm) for pm in row.payment_methods],
    )


def customer_onto_row(customer: Customer, row: m.CustomerRow) -> None:
    assert customer.updated_at is not None
    # Child rows that exist are updated in place, so their primary keys are not re-inserted.
    emails = {e.email: e for e in row.emails}
    methods = {pm.id: pm for pm in row.payment_methods}
    onto_row(
        customer,
        row,
        skip=("id", "created_at", "version"),
        name_key=customer.name.lower(),
        addresses=[address_to_json(a) for a in customer.addresses],
        emails=[
            _reuse(emails.get(email), m.CustomerEmailRow, email=email, position=i)
            for i, email in enumerate(customer.emails)
        ],
        payment_methods=[
            onto_row(pm, methods.get(pm.id) or m.PaymentMethodRow(), position=i)
            for i, pm in enumerate(customer.payment_methods)
        ],
    )


def _reuse(row: R | None, cls: type[R], **values: Any) -> R:
    if row is None:
        return cls(**values)
    for key, value in values.items():
        setattr(row, key, value)
    return row


def product_from_row(row: m.ProductRow) -> Product:
    return from_row(Product, row, variants=[variant_from_row(v) for v in row.variants])


def variant_from_row(row: m.VariantRow) -> Variant:
    return from_row(Variant, row)


def product_onto_row(product: Product, row: m.ProductRow) -> None:
    existing = {v.id: v for v in row.variants}
    # A variant's product is the row's relationship, not a column written here.
    onto_row(
        product,
        row,
        skip=("id",),
        variants=[
            onto_row(v, existing.get(v.id) or m.VariantRow(), skip=("product_id",), position=i)
            for i, v in enumerate(product.variants)
        ],
    )


def order_from_row(row: m.OrderRow) -> Order:
    return from_row(
        Order,
        row,
        address=address_from_json(row.address),
        lines=[from_row(OrderLine, line) for line in row.lines],
        shipments=[from_row(Shipment, s) for s in row.shipments],
        payments=[from_row(PaymentTransaction, p) for p in row.payments],
    )


def order_onto_row(order: Order, row: m.OrderRow) -> None:
    """Child lists are positional (a line has no identity beyond its place), so rewrite them."""
    onto_row(
        order,
        row,
        skip=("id", "version"),
        address=address_to_json(order.address),
        details=_json_safe(order.details),
        lines=[onto_row(x, m.OrderLineRow(), position=i) for i, x in enumerate(order.lines)],
        shipments=[onto_row(x, m.ShipmentRow(), position=i) for i, x in enumerate(order.shipments)],
        payments=[
            onto_row(x, m.PaymentTransactionRow(), position=i) for i, x in enumerate(order.payments)
        ],
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def case_from_row(row: m.CaseRow) -> Case:
    return from_row(
        Case,
        row,
        tags=[t.tag for t in row.tags],
        events=[],
    )


def case_onto_row(case: Case, row: m.CaseRow) -> None:
    existing = {t.tag: t for t in row.tags}
    onto_row(
        case,
        row,
        skip=("id", "version", "events"),
        tags=[existing.get(tag) or m.CaseTagRow(tag=tag) for tag in case.tags],
    )


def message_from_row(row: m.MessageRow) -> Message:
    return from_row(
        Message,
        row,
        attachments=[Attachment(**a) for a in row.attachments],
    )


def message_to_row(message: Message) -> m.MessageRow:
    attachments = [dataclasses.asdict(a) for a in message.attachments]
    return onto_row(message, m.MessageRow(), skip=("id",), attachments=attachments)


def agent_from_row(row: m.AgentRow, team_ids: list[int]) -> Agent:
    return from_row(Agent, row, team_ids=team_ids)


def audit_from_row(row: m.AuditEventRow) -> AuditEvent:
    return from_row(AuditEvent, row)
