"""Agents, teams, API tokens, sessions and sign-in throttles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigPk, Code, Email, IntPk, Key


class TeamRow(Base):
    __tablename__ = "teams"
    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(100), unique=True)


class AgentRow(Base):
    __tablename__ = "agents"
    id: Mapped[IntPk]
    email: Mapped[Email] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Code]
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    time_zone: Mapped[Key | None]
    weekly_summary: Mapped[bool] = mapped_column(default=False, server_default=false())


class AgentTeamRow(Base):
    __tablename__ = "agent_teams"
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[Key] = mapped_column(unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[Code]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    tools: Mapped[list[str] | None]
    rate_limit: Mapped[str | None] = mapped_column(String(40))


class AuthThrottleRow(Base):
    """Failed credentials under one account or client address (keyed by a hash of it)."""

    __tablename__ = "auth_throttles"
    key: Mapped[Key] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    failures: Mapped[int]
    last_failure_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]


class ConsoleSessionRow(Base):
    __tablename__ = "sessions"
    id: Mapped[BigPk]
    token_hash: Mapped[Key] = mapped_column(unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
