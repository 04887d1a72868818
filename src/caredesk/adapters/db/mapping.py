"""Translation between rows and domain objects, in one place per entity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from caredesk.adapters.db import models as m
from caredesk.domain.agents import Agent, Role, Team
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import (
    Attachment,
    Case,
    CaseStatus,
    Channel,
    Message,
    MessageKind,
    Priority,
)
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)
from caredesk.domain.rates import Rate
from caredesk.domain.tokens import ApiToken, ConsoleSession

R = TypeVar("R")


def address_to_json(address: Address) -> dict[str, str]:
    return {
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "state": address.state,
        "zip": address.zip,
        "country": address.country,
    }


def address_from_json(data: dict[str, str]) -> Address:
    return Address(**{k: data.get(k, "") for k in Address.__slots__})


def customer_from_row(row: m.CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        emails=[e.email for e in row.emails],
        phones=list(row.phones),
        addresses=[address_from_json(a) for a in row.addresses],
        tier=row.tier,
        membership=row.membership,
        payment_methods=[
            PaymentMethod(
                id=pm.id,
                kind=PaymentKind(pm.kind),
                brand=pm.brand,
                last_four=pm.last_four,
                balance=pm.balance,
            )
            for pm in row.payment_methods
        ],
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def customer_onto_row(customer: Customer, row: m.CustomerRow) -> None:
    row.first_name = customer.first_name
    row.last_name = customer.last_name
    row.name_key = customer.name.lower()
    row.phones = list(customer.phones)
    row.addresses = [address_to_json(a) for a in customer.addresses]
    row.tier = customer.tier
    row.membership = customer.membership
    assert customer.updated_at is not None
    row.updated_at = customer.updated_at
    existing_emails = {e.email: e for e in row.emails}
    row.emails = [
        _reuse(existing_emails.get(email), m.CustomerEmailRow, email=email, position=i)
        for i, email in enumerate(customer.emails)
    ]
    existing_methods = {pm.id: pm for pm in row.payment_methods}
    row.payment_methods = [
        _reuse(
            existing_methods.get(pm.id),
            m.PaymentMethodRow,
            id=pm.id,
            position=i,
            kind=pm.kind.value,
            brand=pm.brand,
            last_four=pm.last_four,
            balance=pm.balance,
        )
        for i, pm in enumerate(customer.payment_methods)
    ]


def _reuse(row: R | None, cls: type[R], **values: Any) -> R:
    """Update a child row in place when it exists, so its primary key is not re-inserted."""
    if row is None:
        return cls(**values)
    for key, value in values.items():
        setattr(row, key, value)
    return row


def product_from_row(row: m.ProductRow) -> Product:
    return Product(
        id=row.id,
        name=row.name,
        description=row.description,
        variants=[variant_from_row(v) for v in row.variants],
    )


def variant_from_row(row: m.VariantRow) -> Variant:
    return Variant(
        id=row.id,
        product_id=row.product_id,
        options=dict(row.options),
        price=row.price,
        available=row.available,
        cost=row.cost,
        sku=row.sku,
    )


def product_onto_row(product: Product, row: m.ProductRow) -> None:
    row.name = product.name
    row.description = product.description
    existing = {v.id: v for v in row.variants}
    row.variants = [
        _reuse(
            existing.get(v.id),
            m.VariantRow,
            id=v.id,
            position=i,
            options=dict(v.options),
            price=v.price,
            cost=v.cost,
            available=v.available,
            sku=v.sku,
        )
        for i, v in enumerate(product.variants)
    ]


def order_from_row(row: m.OrderRow) -> Order:
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        status=OrderStatus(row.status),
        address=address_from_json(row.address),
        lines=[
            OrderLine(
                variant_id=line.variant_id,
                product_id=line.product_id,
                name=line.name,
                price=line.price,
                options=dict(line.options),
            )
            for line in row.lines
        ],
        shipments=[
            Shipment(
                tracking_ids=list(f.tracking_ids),
                variant_ids=list(f.variant_ids),
                carrier=f.carrier,
                shipped_at=f.shipped_at,
                promised_date=f.promised_date,
                delivered_at=f.delivered_at,
            )
            for f in row.shipments
        ],
        payments=[
            PaymentTransaction(
                transaction_type=TransactionType(p.transaction_type),
                amount=p.amount,
                payment_method_id=p.payment_method_id,
                created_at=p.created_at,
            )
            for p in row.payments
        ],
        placed_at=row.placed_at,
        details=dict(row.details),
        version=row.version,
    )


def order_onto_row(order: Order, row: m.OrderRow) -> None:
    """Child lists are positional (a line has no identity beyond its place), so rewrite them."""
    row.customer_id = order.customer_id
    row.status = order.status.value
    row.address = address_to_json(order.address)
    row.placed_at = order.placed_at
    row.details = _json_safe(order.details)
    row.lines = [
        m.OrderLineRow(
            position=i,
            variant_id=line.variant_id,
            product_id=line.product_id,
            name=line.name,
            price=line.price,
            options=dict(line.options),
        )
        for i, line in enumerate(order.lines)
    ]
    row.shipments = [
        m.ShipmentRow(
            position=i,
            tracking_ids=list(f.tracking_ids),
            variant_ids=list(f.variant_ids),
            carrier=f.carrier,
            shipped_at=f.shipped_at,
            promised_date=f.promised_date,
            delivered_at=f.delivered_at,
        )
        for i, f in enumerate(order.shipments)
    ]
    row.payments = [
        m.PaymentTransactionRow(
            position=i,
            transaction_type=p.transaction_type.value,
            amount=p.amount,
            payment_method_id=p.payment_method_id,
            created_at=p.created_at,
        )
        for i, p in enumerate(order.payments)
    ]


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def case_from_row(row: m.CaseRow) -> Case:
    return Case(
        id=row.id,
        subject=row.subject,
        customer_id=row.customer_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status=CaseStatus(row.status),
        priority=Priority(row.priority),
        channel=Channel(row.channel),
        assignee_id=row.assignee_id,
        team_id=row.team_id,
        tags=[t.tag for t in row.tags],
        order_ids=list(row.order_ids),
        custom_fields=dict(row.custom_fields),
        solved_at=row.solved_at,
        closed_at=row.closed_at,
        service_level=row.service_level,
        version=row.version,
    )


def case_onto_row(case: Case, row: m.CaseRow) -> None:
    row.subject = case.subject
    row.customer_id = case.customer_id
    row.status = case.status.value
    row.priority = case.priority.value
    row.channel = case.channel.value
    row.assignee_id = case.assignee_id
    row.team_id = case.team_id
    row.order_ids = list(case.order_ids)
    row.custom_fields = dict(case.custom_fields)
    row.created_at = case.created_at
    row.updated_at = case.updated_at
    row.solved_at = case.solved_at
    row.closed_at = case.closed_at
    row.service_level = case.service_level
    existing = {t.tag: t for t in row.tags}
    row.tags = [existing.get(tag) or m.CaseTagRow(tag=tag) for tag in case.tags]


def message_from_row(row: m.MessageRow) -> Message:
    return Message(
        id=row.id,
        case_id=row.case_id,
        kind=MessageKind(row.kind),
        body=row.body,
        created_at=row.created_at,
        author_agent_id=row.author_agent_id,
        author_customer_id=row.author_customer_id,
        attachments=[Attachment(**a) for a in row.attachments],
    )


def message_to_row(message: Message) -> m.MessageRow:
    return m.MessageRow(
        case_id=message.case_id,
        kind=message.kind.value,
        body=message.body,
        author_agent_id=message.author_agent_id,
        author_customer_id=message.author_customer_id,
        created_at=message.created_at,
        attachments=[
            {
                "sha256": a.sha256,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
            }
            for a in message.attachments
        ],
    )


def agent_from_row(row: m.AgentRow, team_ids: list[int]) -> Agent:
    return Agent(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        password_hash=row.password_hash,
        active=row.active,
        team_ids=team_ids,
        time_zone=row.time_zone,
    )


def team_from_row(row: m.TeamRow) -> Team:
    return Team(id=row.id, name=row.name)


def token_from_row(row: m.ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        token_hash=row.token_hash,
        prefix=row.prefix,
        created_at=row.created_at,
        agent_id=row.agent_id,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        customer_id=row.customer_id,
        tools=list(row.tools) if row.tools is not None else None,
        rate_limit=Rate.parse(row.rate_limit) if row.rate_limit else None,
    )


def console_session_from_row(row: m.ConsoleSessionRow) -> ConsoleSession:
    return ConsoleSession(
        id=row.id,
        agent_id=row.agent_id,
        token_hash=row.token_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def audit_from_row(row: m.AuditEventRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        case_id=row.case_id,
        before=row.before,
        after=row.after,
    )
