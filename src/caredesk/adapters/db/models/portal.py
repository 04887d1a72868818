"""The customer portal: magic-link sign-in, portal sessions, satisfaction surveys
(revisions 0010 and 0023)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigPk, CaseOwned, CustomerOwned, Key


class PortalSignInRow(Base):
    """Every request for a sign-in link, known address or not (the rate limit counts both)."""

    __tablename__ = "portal_sign_ins"
    id: Mapped[BigPk]
    email_key: Mapped[Key]
    client_key: Mapped[Key]
    customer_id: Mapped[CustomerOwned | None] = mapped_column(index=True)
    token_hash: Mapped[Key | None] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_portal_sign_ins_email", "email_key", "created_at"),
        Index("ix_portal_sign_ins_client", "client_key", "created_at"),
    )


class PortalSessionRow(Base):
    __tablename__ = "portal_sessions"
    id: Mapped[BigPk]
    token_hash: Mapped[Key] = mapped_column(unique=True)
    customer_id: Mapped[CustomerOwned] = mapped_column(index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SatisfactionSurveyRow(Base):
    """One survey per solved case, and the customer's score and comment once answered."""

    __tablename__ = "satisfaction_surveys"
    id: Mapped[BigPk]
    case_id: Mapped[CaseOwned] = mapped_column(unique=True)
    customer_id: Mapped[CustomerOwned]
    token_hash: Mapped[Key] = mapped_column(unique=True)
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    score: Mapped[int | None]
    comment: Mapped[str]
    answered_at: Mapped[datetime | None] = mapped_column(index=True)
