"""What every feature writes: stored contents (blobs), the audit trail, idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigId
from caredesk.adapters.db.types import JsonType, UTCDateTime


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
