"""Case lifecycle: handoffs, repeat asks, commitments, links, proactive findings (revision 0008)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Actor, Base, BigPk, CaseOwned, Code, Key


class CaseHandoffRow(Base):
    __tablename__ = "case_handoffs"
    id: Mapped[BigPk]
    case_id: Mapped[CaseOwned]
    from_agent_id: Mapped[int | None]
    to_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    to_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    summary: Mapped[str]
    drafted: Mapped[bool]
    open_question: Mapped[str]
    facts: Mapped[dict[str, Any]]
    created_by: Mapped[Actor]
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_case_handoffs_case", "case_id", "id"),)


class RepeatAskRow(Base):
    __tablename__ = "repeat_asks"
    id: Mapped[BigPk]
    case_id: Mapped[CaseOwned]
    message_id: Mapped[int] = mapped_column(BigInteger)
    agent_id: Mapped[int | None]
    kind: Mapped[Code]
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_repeat_asks_case", "case_id", "id"),
        Index("ix_repeat_asks_agent", "agent_id", "created_at"),
    )


class CommitmentRow(Base):
    __tablename__ = "commitments"
    id: Mapped[BigPk]
    case_id: Mapped[CaseOwned]
    kind: Mapped[Code]
    description: Mapped[str]
    due_at: Mapped[datetime]
    owner_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    status: Mapped[Code]
    source: Mapped[Code]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    alerted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_by: Mapped[Actor]
    created_at: Mapped[datetime]

    # The sweep reads open commitments by due time; the lists read by case and by owner.
    __table_args__ = (
        Index("ix_commitments_status_due", "status", "due_at"),
        Index("ix_commitments_case", "case_id", "id"),
        Index("ix_commitments_owner", "owner_agent_id", "status"),
    )


class CaseLinkRow(Base):
    __tablename__ = "case_links"
    id: Mapped[BigPk]
    kind: Mapped[Code]
    case_id: Mapped[CaseOwned]
    other_case_id: Mapped[CaseOwned]
    message_ids: Mapped[list[int]]
    grant_ids: Mapped[list[int]]
    prior: Mapped[dict[str, Any]]
    created_by: Mapped[Actor]
    created_at: Mapped[datetime]
    undone_by: Mapped[Actor | None]
    undone_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_case_links_case", "case_id", "id"),
        Index("ix_case_links_other", "other_case_id", "id"),
    )


class ProactiveFindingRow(Base):
    """One finding of the proactive scan; its unique key keeps it to one case, ever."""

    __tablename__ = "proactive_findings"
    id: Mapped[BigPk]
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[Key]
    order_id: Mapped[Key | None]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    facts: Mapped[dict[str, Any]]
    recommendation: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
