"""The empowerment engine: policy versions and changes, grants, approvals, the ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigId, Money
from caredesk.adapters.db.types import JsonType, UTCDateTime


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
    requested_by_role: Mapped[str] = mapped_column(String(20))
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
