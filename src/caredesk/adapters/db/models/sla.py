"""Service levels: business calendars, SLA policies and each case's clocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigPk, CaseOwned, Code, IntPk, Key


class BusinessCalendarRow(Base):
    __tablename__ = "business_calendars"
    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[Key]
    hours: Mapped[dict[str, list[str]]]
    holidays: Mapped[list[str]]
    version: Mapped[int]
    updated_at: Mapped[datetime]


class SlaPolicyRow(Base):
    __tablename__ = "sla_policies"
    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    targets: Mapped[dict[str, int]]
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id"))
    warn_percent: Mapped[int]
    match: Mapped[dict[str, list[str]]]
    position: Mapped[int]
    active: Mapped[bool]
    version: Mapped[int]
    updated_at: Mapped[datetime]


class SlaClockRow(Base):
    """One SLA clock of a case, with the spans it ran, so it can be worked out again."""

    __tablename__ = "sla_clocks"
    id: Mapped[BigPk]
    case_id: Mapped[CaseOwned]
    metric: Mapped[Code]
    cycle: Mapped[int]
    started_at: Mapped[datetime]
    segments: Mapped[list[list[str]]]
    running_since: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    target_minutes: Mapped[int | None]
    warn_percent: Mapped[int]
    elapsed_us: Mapped[int] = mapped_column(BigInteger)
    warn_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("case_id", "metric", "cycle", name="uq_sla_clocks_case_metric_cycle"),
        # The warning and breach scan reads open clocks by their next moment.
        Index("ix_sla_clocks_open_warn", "completed_at", "warn_at"),
        Index("ix_sla_clocks_open_due", "completed_at", "due_at"),
        Index("ix_sla_clocks_policy", "policy_id"),
    )
