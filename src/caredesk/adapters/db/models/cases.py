"""Cases, their tags and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caredesk.adapters.db.models.base import Base, BigId
from caredesk.adapters.db.types import JsonType, UTCDateTime


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
