"""Mail in and out, mail that could not be parsed, the development outbox, templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigId
from caredesk.adapters.db.types import JsonType, UTCDateTime


class MailMessageRow(Base):
    """Email in and out with its threading headers; the message itself lives on the case."""

    __tablename__ = "mail_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(500))
    from_address: Mapped[str | None] = mapped_column(String(320))
    to_addresses: Mapped[list[str]] = mapped_column(JsonType)
    cc_addresses: Mapped[list[str]] = mapped_column(JsonType)
    in_reply_to: Mapped[list[str]] = mapped_column(JsonType)
    reference_ids: Mapped[list[str]] = mapped_column(JsonType)
    auto_kind: Mapped[str | None] = mapped_column(String(20))
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_mail_messages_case", "case_id", "id"),
        # The per-sender rate limit counts a sender's recent mail.
        Index("ix_mail_messages_sender", "from_address", "created_at"),
        Index("ix_mail_messages_status", "status", "id"),
    )


class MailFailureRow(Base):
    """Mail that could not be parsed, kept raw (in blobs) for an admin."""

    __tablename__ = "mail_failures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    envelope_from: Mapped[str | None] = mapped_column(String(320))
    envelope_to: Mapped[list[str]] = mapped_column(JsonType)


class OutboxMailRow(Base):
    """Outbound mail kept instead of sent (CAREDESK_MAIL_TRANSPORT=outbox); revision 0017.

    The message's bytes are the blob its mail row names, so erasing that mail erases them;
    the row itself goes with its mail."""

    __tablename__ = "outbox_mail"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    envelope_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JsonType)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    caught_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailTemplateRow(Base):
    """An edited email template; the packaged default applies to any name not stored here."""

    __tablename__ = "mail_templates"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
