"""Cases, their tags and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caredesk.adapters.db.models.base import Base, BigPk, CaseOwned, Code, Key


class CaseRow(Base):
    __tablename__ = "cases"
    id: Mapped[BigPk]
    subject: Mapped[str] = mapped_column(String(500))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[Code]
    priority: Mapped[Code]
    channel: Mapped[Code]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    order_ids: Mapped[list[str]]
    custom_fields: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    service_level: Mapped[int | None]
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column()
    # Set when its texts were erased (its customer's erasure or the retention of closed cases).
    erased_at: Mapped[datetime | None]

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
        # The queues' counts read these three columns of every open case: from this index
        # alone, without the cases' wide rows (migration 0026).
        Index("ix_cases_queue_counts", "status", "assignee_id", "team_id"),
        # The reports select the cases opened in their period (migration 0031).
        Index("ix_cases_created", "created_at", "id"),
        # The retention report selects the cases solved in its period (migration 0033).
        Index("ix_cases_solved", "solved_at", "id"),
    )
    __mapper_args__ = {"version_id_col": version}


class CaseTagRow(Base):
    __tablename__ = "case_tags"
    case_id: Mapped[CaseOwned] = mapped_column(primary_key=True)
    tag: Mapped[Key] = mapped_column(primary_key=True)

    __table_args__ = (Index("ix_case_tags_tag_case", "tag", "case_id"),)


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[BigPk]
    case_id: Mapped[CaseOwned]
    kind: Mapped[Code]
    body: Mapped[str]
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    author_customer_id: Mapped[Key | None]
    created_at: Mapped[datetime]
    attachments: Mapped[list[dict[str, Any]]]

    __table_args__ = (
        Index("ix_messages_case_id", "case_id", "id"),
        # A report's first reply, reply count and later customer message of each case, from
        # the index alone (migration 0033).
        Index("ix_messages_case_kind_created", "case_id", "kind", "created_at"),
    )


class CaseFactsRow(Base):
    """What the reports read of a case besides its own row, kept current by the unit of work
    that changes the case (adapters/db/case_facts.py): worked out once per change, so a
    report over a million cases reads one row each instead of their messages, their trail and
    their clocks, and no business hours are counted at read time."""

    __tablename__ = "case_facts"
    case_id: Mapped[CaseOwned] = mapped_column(primary_key=True)
    # The case's own columns that the reports select, group and filter by, as they stood at
    # its last change: a report reads this table alone.
    created_at: Mapped[datetime]
    solved_at: Mapped[datetime | None]
    status: Mapped[Code]
    priority: Mapped[Code]
    channel: Mapped[Code]
    team_id: Mapped[int | None]
    assignee_id: Mapped[int | None]
    service_level: Mapped[int | None]
    # The agents' first reply and how many replies they sent.
    first_reply_at: Mapped[datetime | None]
    agent_replies: Mapped[int]
    # Whether the customer wrote after the first reply; whether the case was ever reopened.
    wrote_again: Mapped[bool]
    reopened: Mapped[bool]
    # The business calendar of the case's SLA policy (its first clock's), and the working
    # seconds in it from the case's opening to its first reply and to its solving.
    calendar_id: Mapped[int | None]
    first_reply_business_seconds: Mapped[float | None]
    resolution_business_seconds: Mapped[float | None]

    # A report selects the cases opened in its period (the reports' one range read).
    __table_args__ = (Index("ix_case_facts_created", "created_at", "case_id"),)
