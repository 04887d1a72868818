"""Typed SQLAlchemy models. Every table here has an Alembic revision; a test checks they agree."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Sequence,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from caredesk.adapters.db.types import JsonType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2)
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TeamRow(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class AgentRow(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_zone: Mapped[str | None] = mapped_column(String(64))


class AgentTeamRow(Base):
    __tablename__ = "agent_teams"
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(20))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    tools: Mapped[list[str] | None] = mapped_column(JsonType)
    rate_limit: Mapped[str | None] = mapped_column(String(40))


class AuthThrottleRow(Base):
    """Failed credentials under one account or client address (keyed by a hash of it)."""

    __tablename__ = "auth_throttles"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SessionRow(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    fulfilments: Mapped[list[FulfilmentRow]] = relationship(
        order_by="FulfilmentRow.position", cascade="all, delete-orphan", lazy="selectin"
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


class FulfilmentRow(Base):
    __tablename__ = "fulfilments"
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


class CaseRow(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    order_ids: Mapped[list[str]] = mapped_column(JsonType)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    service_level: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    # Set when its texts were erased (its customer's erasure or the retention of closed cases).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tags: Mapped[list[CaseTagRow]] = relationship(
        order_by="CaseTagRow.tag", cascade="all, delete-orphan", lazy="selectin"
    )

    # The list API orders by (updated_at, id) under each filter; these keep it index-only.
    __table_args__ = (
        Index("ix_cases_updated", "updated_at", "id"),
        Index("ix_cases_status_updated", "status", "updated_at", "id"),
        Index("ix_cases_assignee_updated", "assignee_id", "updated_at", "id"),
        Index("ix_cases_team_updated", "team_id", "updated_at", "id"),
        Index("ix_cases_customer_updated", "customer_id", "updated_at", "id"),
    )
    __mapper_args__ = {"version_id_col": version}


class CaseTagRow(Base):
    __tablename__ = "case_tags"
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_case_tags_tag_case", "tag", "case_id"),)


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    author_customer_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)

    __table_args__ = (Index("ix_messages_case_id", "case_id", "id"),)


class BlobRow(Base):
    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (
        Index("ix_audit_events_case", "case_id", "id"),
        Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),
    )


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JsonType)

    __table_args__ = (
        UniqueConstraint("principal", "key", name="uq_idempotency_keys_principal_key"),
    )


class PolicyVersionRow(Base):
    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_by: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, index=True)


class PolicyChangeRow(Base):
    """A policy waiting for a second admin's confirmation, and how it was decided."""

    __tablename__ = "policy_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    base_version: Mapped[str | None] = mapped_column(String(64))
    base_digest: Mapped[str | None] = mapped_column(String(64))
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    forced: Mapped[bool] = mapped_column(Boolean)
    proposed_by: Mapped[str] = mapped_column(String(80))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text)


class GrantRow(Base):
    __tablename__ = "grants"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[str | None] = mapped_column(String(64))
    remedy_ids: Mapped[list[str]] = mapped_column(JsonType)
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20))
    cost: Mapped[Decimal] = mapped_column(Money)
    refunded: Mapped[Decimal] = mapped_column(Money)
    policy_version: Mapped[str] = mapped_column(String(64))
    service_level: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[str]] = mapped_column(JsonType)
    summary: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    reverses_grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issue_type: Mapped[str | None] = mapped_column(String(60))
    bases: Mapped[list[dict[str, int]]] = mapped_column(JsonType)

    __table_args__ = (
        UniqueConstraint("actor", "idempotency_key", name="uq_grants_actor_idempotency_key"),
        Index("ix_grants_case", "case_id", "id"),
        Index("ix_grants_customer_executed", "customer_id", "executed_at"),
        Index("ix_grants_agent_executed", "agent_id", "executed_at"),
        Index("ix_grants_team_executed", "team_id", "executed_at"),
    )


class ApprovalRow(Base):
    __tablename__ = "approvals"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(80))
    requester_role: Mapped[str] = mapped_column(String(20))
    approver_role: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    account: Mapped[str] = mapped_column(String(120), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    memo: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Which of the grant's remedies posted it (revision 0017b); None on older bundles' entries.
    remedy_id: Mapped[str | None] = mapped_column(String(64))


class MailMessageRow(Base):
    """Email in and out with its threading headers; the message itself lives on the case."""

    __tablename__ = "mail_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(500))
    from_address: Mapped[str | None] = mapped_column(String(320))
    to_addresses: Mapped[list[str]] = mapped_column(JsonType)
    cc_addresses: Mapped[list[str]] = mapped_column(JsonType)
    in_reply_to: Mapped[list[str]] = mapped_column(JsonType)
    reference_ids: Mapped[list[str]] = mapped_column(JsonType)
    auto_kind: Mapped[str | None] = mapped_column(String(20))
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_mail_messages_case", "case_id", "id"),
        # The per-sender rate limit counts a sender's recent mail.
        Index("ix_mail_messages_sender", "from_address", "created_at"),
        Index("ix_mail_messages_status", "status", "id"),
    )


class MailFailureRow(Base):
    """Mail that could not be parsed, kept raw (in blobs) for an admin."""

    __tablename__ = "mail_failures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    envelope_from: Mapped[str | None] = mapped_column(String(320))
    envelope_to: Mapped[list[str]] = mapped_column(JsonType)


class OutboxMailRow(Base):
    """Outbound mail kept instead of sent (CAREDESK_MAIL_TRANSPORT=outbox); revision 0017.

    The message's bytes are the blob its mail row names, so erasing that mail erases them;
    the row itself goes with its mail."""

    __tablename__ = "outbox_mail"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    envelope_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JsonType)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    caught_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailTemplateRow(Base):
    """An edited email template; the packaged default applies to any name not stored here."""

    __tablename__ = "mail_templates"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)


# Knowledge base, search index and triage (revision 0004).


class ArticleRow(Base):
    __tablename__ = "kb_articles"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # What the desk does about it, for agents only (revision 0017).
    internal_notes: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JsonType)
    product_ids: Mapped[list[str]] = mapped_column(JsonType)
    locale: Mapped[str] = mapped_column(String(35))
    visibility: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_kb_articles_updated", "updated_at", "id"),)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class ArticleVersionRow(Base):
    __tablename__ = "kb_article_versions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    internal_notes: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JsonType)
    product_ids: Mapped[list[str]] = mapped_column(JsonType)
    locale: Mapped[str] = mapped_column(String(35))
    visibility: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_version"),
    )


class KnownIssueRow(Base):
    __tablename__ = "known_issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    product_ids: Mapped[list[str]] = mapped_column(JsonType)
    variant_ids: Mapped[list[str]] = mapped_column(JsonType)
    conditions: Mapped[list[str]] = mapped_column(JsonType)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL")
    )
    program_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class SearchEntryRow(Base):
    """One searchable text (an article, a macro or a solved case) and its stored embedding."""

    __tablename__ = "search_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(35))
    public: Mapped[bool] = mapped_column(Boolean)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # float32 vectors, one per passage, concatenated; NULL until the embedder has run.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(120))
    embedded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_embedding: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_search_entries_kind_ref"),
        Index("ix_search_entries_pending", "needs_embedding", "id"),
        Index("ix_search_entries_embedded", "embedded_at"),
    )


class RoutingRuleRow(Base):
    __tablename__ = "routing_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JsonType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class IntentLabelRow(Base):
    """A labelled example for the intent model: an agent's choice or correction, or an import."""

    __tablename__ = "intent_labels"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_intent_labels_case", "case_id", "id"),)


class IntentModelRow(Base):
    __tablename__ = "intent_models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    method: Mapped[str] = mapped_column(String(60))
    labels: Mapped[list[str]] = mapped_column(JsonType)
    examples: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonType)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trained_by: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, index=True)


class CaseTriageRow(Base):
    """The latest triage of a case, with the confidences behind what it wrote on the case."""

    __tablename__ = "case_triage"
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    intent: Mapped[str | None] = mapped_column(String(64))
    intent_confidence: Mapped[float] = mapped_column(Float)
    intent_source: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[int | None] = mapped_column(Integer)
    sentiment: Mapped[float] = mapped_column(Float)
    public_risk: Mapped[bool] = mapped_column(Boolean)
    public_risk_confidence: Mapped[float] = mapped_column(Float)
    risk_signals: Mapped[list[str]] = mapped_column(JsonType)
    moments: Mapped[list[str]] = mapped_column(JsonType)
    known_issues: Mapped[list[str]] = mapped_column(JsonType)
    language: Mapped[str] = mapped_column(String(35))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    triaged_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobRow(Base):
    """A durable job (outbox): written with the change that causes it, run by a worker."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "state", "run_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobTimerRow(Base):
    """When each periodic timer is next due; a conditional update claims one period."""

    __tablename__ = "job_timers"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BusinessCalendarRow(Base):
    __tablename__ = "business_calendars"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, list[str]]] = mapped_column(JsonType)
    holidays: Mapped[list[str]] = mapped_column(JsonType)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlaPolicyRow(Base):
    __tablename__ = "sla_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    targets: Mapped[dict[str, int]] = mapped_column(JsonType)
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id"))
    warn_percent: Mapped[int] = mapped_column(Integer)
    match: Mapped[dict[str, list[str]]] = mapped_column(JsonType)
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlaClockRow(Base):
    """One SLA clock of a case, with the spans it ran, so it can be worked out again."""

    __tablename__ = "sla_clocks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    segments: Mapped[list[list[str]]] = mapped_column(JsonType)
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    target_minutes: Mapped[int | None] = mapped_column(Integer)
    warn_percent: Mapped[int] = mapped_column(Integer)
    elapsed_us: Mapped[int] = mapped_column(BigInteger)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("case_id", "metric", "cycle", name="uq_sla_clocks_case_metric_cycle"),
        # The warning and breach scan reads open clocks by their next moment.
        Index("ix_sla_clocks_open_warn", "completed_at", "warn_at"),
        Index("ix_sla_clocks_open_due", "completed_at", "due_at"),
        Index("ix_sla_clocks_policy", "policy_id"),
    )


class WebhookSubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JsonType)
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDeliveryRow(Base):
    """One event sent (or to be sent) to one subscription, with the outcome of each try."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),)


# The customer portal: magic-link sign-in, portal sessions, CSAT surveys (revision 0010).


class PortalSignInRow(Base):
    """Every request for a sign-in link, known address or not (the rate limit counts both)."""

    __tablename__ = "portal_sign_ins"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email_key: Mapped[str] = mapped_column(String(64))
    client_key: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_portal_sign_ins_email", "email_key", "created_at"),
        Index("ix_portal_sign_ins_client", "client_key", "created_at"),
    )


class PortalSessionRow(Base):
    __tablename__ = "portal_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CsatSurveyRow(Base):
    """One survey per solved case, and the customer's score and comment once answered."""

    __tablename__ = "csat_surveys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


# Case lifecycle: handoffs, repeat asks, commitments, links, proactive findings (revision 0008).


class CaseHandoffRow(Base):
    __tablename__ = "case_handoffs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    from_agent_id: Mapped[int | None] = mapped_column(Integer)
    to_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    to_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    summary: Mapped[str] = mapped_column(Text)
    drafted: Mapped[bool] = mapped_column(Boolean)
    open_question: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_case_handoffs_case", "case_id", "id"),)


class RepeatAskRow(Base):
    __tablename__ = "repeat_asks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    agent_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_repeat_asks_case", "case_id", "id"),
        Index("ix_repeat_asks_agent", "agent_id", "created_at"),
    )


class CommitmentRow(Base):
    __tablename__ = "commitments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # The sweep reads open commitments by due time; the lists read by case and by owner.
    __table_args__ = (
        Index("ix_commitments_status_due", "status", "due_at"),
        Index("ix_commitments_case", "case_id", "id"),
        Index("ix_commitments_owner", "owner_agent_id", "status"),
    )


class CaseLinkRow(Base):
    __tablename__ = "case_links"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    other_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    message_ids: Mapped[list[int]] = mapped_column(JsonType)
    grant_ids: Mapped[list[int]] = mapped_column(JsonType)
    prior: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(80))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_case_links_case", "case_id", "id"),
        Index("ix_case_links_other", "other_case_id", "id"),
    )


class ProactiveFindingRow(Base):
    """One finding of the proactive scan; its unique key keeps it to one case, ever."""

    __tablename__ = "proactive_findings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    facts: Mapped[dict[str, Any]] = mapped_column(JsonType)
    recommendation: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
