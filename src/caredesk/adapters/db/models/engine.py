"""The empowerment engine: policy versions and changes, grants, approvals, the ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Actor, Base, BigPk, Code, IntPk, Key


class PolicyVersionRow(Base):
    __tablename__ = "policy_versions"
    id: Mapped[IntPk]
    version: Mapped[Key] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[Key]
    text: Mapped[str]
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[Actor]
    active: Mapped[bool] = mapped_column(index=True)


class PolicyChangeRow(Base):
    """A policy waiting for a second admin's confirmation, and how it was decided."""

    __tablename__ = "policy_changes"
    id: Mapped[IntPk]
    version: Mapped[Key]
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[Key]
    text: Mapped[str]
    base_version: Mapped[Key | None]
    base_digest: Mapped[Key | None]
    diff: Mapped[list[dict[str, Any]]]
    forced: Mapped[bool]
    proposed_by: Mapped[Actor]
    proposed_at: Mapped[datetime]
    status: Mapped[Code] = mapped_column(index=True)
    decided_by: Mapped[Actor | None]
    decided_at: Mapped[datetime | None]
    note: Mapped[str]


class GrantRow(Base):
    __tablename__ = "grants"
    id: Mapped[BigPk]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[Key | None]
    remedy_ids: Mapped[list[str]]
    params: Mapped[dict[str, Any]]
    status: Mapped[Code]
    cost: Mapped[Decimal]
    refunded: Mapped[Decimal]
    policy_version: Mapped[Key]
    service_level: Mapped[int]
    rules: Mapped[list[str]]
    summary: Mapped[str]
    actor: Mapped[Actor]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[Key]
    reverses_grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"))
    created_at: Mapped[datetime]
    executed_at: Mapped[datetime | None]
    issue_type: Mapped[str | None] = mapped_column(String(60))
    bases: Mapped[list[dict[str, int]]]

    __table_args__ = (
        UniqueConstraint("actor", "idempotency_key", name="uq_grants_actor_idempotency_key"),
        Index("ix_grants_case", "case_id", "id"),
        Index("ix_grants_customer_executed", "customer_id", "executed_at"),
        Index("ix_grants_agent_executed", "agent_id", "executed_at"),
        Index("ix_grants_team_executed", "team_id", "executed_at"),
    )


class ApprovalRow(Base):
    __tablename__ = "approvals"
    id: Mapped[BigPk]
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[Actor]
    requested_by_role: Mapped[Code]
    approver_role: Mapped[Code]
    reasons: Mapped[list[str]]
    status: Mapped[Code] = mapped_column(index=True)
    decided_by: Mapped[Actor | None]
    decided_at: Mapped[datetime | None]
    note: Mapped[str]
    created_at: Mapped[datetime]


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"
    id: Mapped[BigPk]
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    account: Mapped[str] = mapped_column(String(120), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    memo: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    # Which of the grant's remedies posted it (revision 0017b); None on older bundles' entries.
    remedy_id: Mapped[Key | None]
