"""What access needs: agents, teams, tokens, console sessions, password hashing, sign-in
throttles and rate limits."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from caredesk.domain.agents import Agent, Team
from caredesk.domain.rates import Rate
from caredesk.domain.throttling import Throttle
from caredesk.domain.tokens import ApiToken, ConsoleSession
from caredesk.services.core.ports import Repository


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class AgentRepository(Repository[Agent, int], Protocol):
    def get_by_email(self, email: str) -> Agent | None: ...

    def all(self) -> list[Agent]: ...


class TeamRepository(Protocol):
    def add(self, team: Team) -> None: ...

    def get(self, team_id: int) -> Team | None: ...

    def get_by_name(self, name: str) -> Team | None: ...

    def all(self) -> list[Team]: ...


class TokenRepository(Repository[ApiToken, int], Protocol):
    def get_by_hash(self, token_hash: str) -> ApiToken | None: ...

    def all(self) -> list[ApiToken]: ...

    def record_uses(self, uses: Mapping[int, datetime]) -> None:
        """Each token's last use, where it is later than the one stored."""
        ...


class ConsoleSessionRepository(Protocol):
    def add(self, session: ConsoleSession) -> None: ...

    def get_by_hash(self, token_hash: str) -> ConsoleSession | None: ...

    def save(self, session: ConsoleSession) -> None: ...


class ThrottleRepository(Protocol):
    def get(self, key: str) -> Throttle | None: ...

    def get_for_change(self, key: str) -> Throttle | None:
        """The throttle, held against other writers until the unit of work ends, so that
        failures counted at the same moment are all counted."""
        ...

    def save(self, throttle: Throttle) -> None: ...

    def delete(self, key: str) -> None: ...

    def locked(self, keys: Collection[str], now: datetime) -> dict[str, datetime]:
        """Of these keys, those locked at `now`, with the end of their lock."""
        ...


@dataclass(frozen=True, slots=True)
class RateVerdict:
    allowed: bool
    rate: Rate
    remaining: int
    # Seconds until the window has room again (the draft RateLimit-Reset, and Retry-After).
    reset_after: int


class RateLimiter(Protocol):
    @property
    def remote(self) -> bool:
        """Whether counting goes over the network (callers on an event loop then count in a
        worker thread)."""
        ...

    def hit(self, rate: Rate, key: str) -> RateVerdict | None:
        """Count one request under `key`; None when the counts cannot be reached (the
        request goes through: the limits protect the desk, they are not its door)."""
        ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasAgents(Protocol):
    @property
    def agents(self) -> AgentRepository: ...


class HasTeams(Protocol):
    @property
    def teams(self) -> TeamRepository: ...


class HasTokens(Protocol):
    @property
    def tokens(self) -> TokenRepository: ...


class HasConsoleSessions(Protocol):
    @property
    def console_sessions(self) -> ConsoleSessionRepository: ...


class HasThrottles(Protocol):
    @property
    def throttles(self) -> ThrottleRepository: ...
