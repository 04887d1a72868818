"""Case lifecycle: handoffs, repeat asks, commitments, links, proactive findings (revision 0008)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigId
from caredesk.adapters.db.types import JsonType, UTCDateTime


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
