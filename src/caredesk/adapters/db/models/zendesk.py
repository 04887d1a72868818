"""The integer user ids of the Zendesk-compatible API (/api/v2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigPk, Key


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
