"""Service levels: business calendars, SLA policies and each case's clocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigId
from caredesk.adapters.db.types import JsonType, UTCDateTime


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
