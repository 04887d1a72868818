"""The durable job queue, its periodic timers, and webhook subscriptions and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigPk, Code, IntPk


class JobRow(Base):
    """A durable job (outbox): written with the change that causes it, run by a worker."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "state", "run_at"),)
    id: Mapped[BigPk]
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    state: Mapped[Code]
    attempts: Mapped[int]
    run_at: Mapped[datetime]
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class JobTimerRow(Base):
    """When each periodic timer is next due; a conditional update claims one period."""

    __tablename__ = "job_timers"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]


class WebhookSubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"
    id: Mapped[IntPk]
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]]
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """One event sent (or to be sent) to one subscription, with the outcome of each try."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[BigPk]
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    status: Mapped[Code]
    attempts: Mapped[int]
    response_status: Mapped[int | None]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),)
