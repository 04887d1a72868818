"""The integer user ids of the Zendesk-compatible API (/api/v2), and what an import from
Zendesk keeps: its checkpoints, its id mapping and the ticket fields' definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigId, BigPk, Key


class ZendeskUserRow(Base):
    """One Zendesk user id for one customer or one agent, given the first time the API shows
    that person and never changed: Zendesk's clients keep user ids, and customers' own ids
    are text while Zendesk's are integers in one space shared with agents."""

    __tablename__ = "zendesk_users"
    id: Mapped[BigPk]
    customer_id: Mapped[Key | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(
            "(customer_id IS NULL) <> (agent_id IS NULL)",
            name="one_person",
        ),
    )


class ZendeskImportCheckpointRow(Base):
    """How far `caredesk import zendesk` got in one account's stream of one kind: the
    incremental cursor (or page) whose objects were all stored, so a new run starts there."""

    __tablename__ = "zendesk_import_checkpoints"
    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(1000))
    updated_at: Mapped[datetime]


class ZendeskImportIdRow(Base):
    """Which local record one imported Zendesk object became, written in the transaction
    that stored it: a run finds here what an earlier one already stored."""

    __tablename__ = "zendesk_import_ids"
    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_id: Mapped[str] = mapped_column(String(64))
    source_updated_at: Mapped[datetime | None]


class TicketFieldRow(Base):
    """A Zendesk ticket field's definition, kept so the custom fields named by its number
    still say what they are; its id is Zendesk's."""

    __tablename__ = "ticket_fields"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool]
    options: Mapped[list[dict[str, Any]]]
    position: Mapped[int]


class ZendeskUploadRow(Base):
    """A file sent to POST /api/v2/uploads.json, waiting for the comment that names its token.
    The content is in `blobs` under its hash, as every message's file is."""

    __tablename__ = "zendesk_uploads"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    owner: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
