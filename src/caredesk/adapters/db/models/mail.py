"""Mail in and out, mail that could not be parsed, the development outbox, templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Actor, Base, BigPk, CaseOwned, Code, Email, Key


class MailMessageRow(Base):
    """Email in and out with its threading headers; the message itself lives on the case."""

    __tablename__ = "mail_messages"
    id: Mapped[BigPk]
    direction: Mapped[str] = mapped_column(String(3))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[Code]
    case_id: Mapped[CaseOwned | None]
    case_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(500))
    from_address: Mapped[Email | None]
    to_addresses: Mapped[list[str]]
    cc_addresses: Mapped[list[str]]
    in_reply_to: Mapped[list[str]]
    reference_ids: Mapped[list[str]]
    auto_kind: Mapped[Code | None]
    raw_sha256: Mapped[Key | None]
    body_text: Mapped[str | None]
    body_html: Mapped[str | None]
    template: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_mail_messages_case", "case_id", "id"),
        # The per-sender rate limit counts a sender's recent mail.
        Index("ix_mail_messages_sender", "from_address", "created_at"),
        Index("ix_mail_messages_status", "status", "id"),
    )


class MailFailureRow(Base):
    """Mail that could not be parsed, kept raw (in blobs) for an admin."""

    __tablename__ = "mail_failures"
    id: Mapped[BigPk]
    received_at: Mapped[datetime] = mapped_column(index=True)
    raw_sha256: Mapped[Key]
    size: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str]
    source: Mapped[Code]
    envelope_from: Mapped[Email | None]
    envelope_to: Mapped[list[str]]


class OutboxMailRow(Base):
    """Outbound mail kept instead of sent (CAREDESK_MAIL_TRANSPORT=outbox); revision 0017.

    The message's bytes are the blob its mail row names, so erasing that mail erases them;
    the row itself goes with its mail."""

    __tablename__ = "outbox_mail"
    id: Mapped[BigPk]
    mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    envelope_from: Mapped[Email]
    recipients: Mapped[list[str]]
    raw_sha256: Mapped[Key]
    caught_at: Mapped[datetime]


class MailTemplateRow(Base):
    """An edited email template; the packaged default applies to any name not stored here."""

    __tablename__ = "mail_templates"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    subject: Mapped[str]
    text: Mapped[str]
    html: Mapped[str | None]
    updated_at: Mapped[datetime]
    updated_by: Mapped[Actor]
    version: Mapped[int]
