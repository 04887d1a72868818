"""API tokens and console sessions. Only hashes of their secrets are ever stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from caredesk.domain.agents import Actor, Role
from caredesk.domain.errors import DomainError, ErrorCode, Unauthenticated
from caredesk.domain.rates import Rate


@dataclass(slots=True)
class ApiToken:
    id: int | None
    name: str
    role: Role
    token_hash: str
    prefix: str
    created_at: datetime
    agent_id: int | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    customer_id: str | None = None
    tools: list[str] | None = None
    # Requests this token may make (else the desk's per-token default), e.g. an AI agent's.
    rate_limit: Rate | None = None

    def check_usable(self, now: datetime) -> None:
        if self.revoked_at is not None:
            raise DomainError(
                "this API token was revoked",
                code=ErrorCode.TOKEN_REVOKED,
                details={"token_id": self.id},
            )
        if self.expires_at is not None and self.expires_at <= now:
            raise DomainError(
                "this API token has expired",
                code=ErrorCode.TOKEN_EXPIRED,
                details={"token_id": self.id},
            )

    def bind_customer(self, customer_id: str) -> None:
        """Limit the token to one verified customer; a bound token never changes customer."""
        if self.customer_id is not None and self.customer_id != customer_id:
            raise DomainError(
                "this token acts for another customer",
                code=ErrorCode.NOT_CUSTOMERS,
                details={"customer_id": self.customer_id},
            )
        self.customer_id = customer_id

    def actor(self) -> Actor:
        return Actor(
            role=self.role,
            agent_id=self.agent_id,
            token_id=self.id,
            customer_id=self.customer_id,
            tools=tuple(self.tools) if self.tools is not None else None,
        )


@dataclass(slots=True, kw_only=True)
class BrowserSession:
    """A signed-in browser: an agent's in the console, a customer's in the portal. Its cookie
    carries the secret; it ends when it expires or is revoked (signing out)."""

    id: int | None
    token_hash: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    def end(self, now: datetime) -> bool:
        """Sign out; False when it had ended before (nothing to save)."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = now
        return True


Live = TypeVar("Live", bound=BrowserSession)


def live_session(session: Live | None, now: datetime, ended: str) -> Live:
    """The session a cookie names while it lasts; after that, its reader signs in again."""
    if session is None or not session.is_live(now):
        raise Unauthenticated(ended)
    return session


@dataclass(slots=True, kw_only=True)
class ConsoleSession(BrowserSession):
    """A signed-in agent's browser in the console."""

    agent_id: int
