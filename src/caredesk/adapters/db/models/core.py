"""What every feature writes: stored contents (blobs), the audit trail, idempotency keys, and
the change stamps of the configuration each process keeps in memory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Actor, Base, BigPk, Code, Key


class BlobRow(Base):
    __tablename__ = "blobs"
    sha256: Mapped[Key] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes]


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    id: Mapped[BigPk]
    at: Mapped[datetime]
    actor: Mapped[Actor]
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[Key]
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]

    __table_args__ = (
        Index("ix_audit_events_case", "case_id", "id"),
        Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),
    )


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"
    id: Mapped[BigPk]
    principal: Mapped[Actor]
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[Key]
    created_at: Mapped[datetime] = mapped_column(index=True)
    response_status: Mapped[int | None]
    response_body: Mapped[bytes | None]
    response_headers: Mapped[dict[str, str] | None]

    __table_args__ = (
        UniqueConstraint("principal", "key", name="uq_idempotency_keys_principal_key"),
    )


class ConfigStampRow(Base):
    """One row per kind of slow-changing configuration (adapters/db/config_cache.py): a new
    random stamp is written in the transaction of every change to that kind."""

    __tablename__ = "config_stamps"
    kind: Mapped[Code] = mapped_column(primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))
