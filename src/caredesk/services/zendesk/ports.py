"""What the Zendesk-compatible API needs from storage: the integer ids of its users, and
the files sent ahead of their comments."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from caredesk.domain.cases import Attachment


@dataclass(frozen=True, slots=True)
class UserRef:
    """Who one Zendesk user id stands for: a customer or an agent, never both."""

    customer_id: str | None = None
    agent_id: int | None = None

    def __post_init__(self) -> None:
        if (self.customer_id is None) == (self.agent_id is None):
            raise ValueError("a user is a customer or an agent")

    @classmethod
    def customer(cls, customer_id: str) -> UserRef:
        return cls(customer_id=customer_id)

    @classmethod
    def agent(cls, agent_id: int) -> UserRef:
        return cls(agent_id=agent_id)


class UserIdRepository(Protocol):
    def ids_of(self, people: Collection[UserRef]) -> dict[UserRef, int]:
        """The user ids these people were given (those given one already), in one read."""
        ...

    def assign(self, people: Collection[UserRef], now: datetime) -> None:
        """Give each of these people a user id, unless they have one: an id once given is
        never changed, also when two callers give one at the same moment."""
        ...

    def people(self, user_ids: Collection[int]) -> dict[int, UserRef]:
        """Who these user ids stand for (those that exist), in one read."""
        ...


class HasUserIds(Protocol):
    @property
    def zendesk_users(self) -> UserIdRepository: ...


@dataclass(frozen=True, slots=True)
class Upload:
    """A file sent ahead of the comment it goes on (Zendesk's upload token): stored with the
    desk's files, attached by the first comment that names its token, by its owner only."""

    token: str
    attachment: Attachment
    # Who sent it (Actor.ref): another caller's comment cannot take it.
    owner: str
    created_at: datetime
    expires_at: datetime


class UploadRepository(Protocol):
    def add(self, upload: Upload) -> None: ...

    def take(self, tokens: Collection[str], owner: str, now: datetime) -> dict[str, Upload]:
        """The uploads of these tokens that `owner` sent, not used and not expired, marked
        used in this transaction (held until it ends, so two comments cannot both take one)."""
        ...


class HasUploads(Protocol):
    @property
    def zendesk_uploads(self) -> UploadRepository: ...
