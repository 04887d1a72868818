"""What the Zendesk-compatible API and the import from Zendesk need: the integer ids of its
users, the import's checkpoints and id mapping, ticket fields, and the account read."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


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
class TicketField:
    """A Zendesk ticket field's definition; `id` is Zendesk's number, the name cases give
    the field's value in their custom fields."""

    id: int
    title: str
    type: str
    active: bool = True
    options: list[dict[str, Any]] = field(default_factory=list)
    position: int = 0


class TicketFieldRepository(Protocol):
    def put(self, ticket_field: TicketField) -> None:
        """Store the definition, replacing the one of the same id."""
        ...

    def get(self, field_id: int) -> TicketField | None: ...

    def all(self) -> list[TicketField]:
        """Every definition, by position then id."""
        ...


@dataclass(frozen=True, slots=True)
class ImportedId:
    """What one imported object became, and its source's update time when it was stored."""

    local_id: str
    source_updated_at: datetime | None


class ImportRecords(Protocol):
    """The import's memory of one account: checkpoints per kind, and the id mapping."""

    def checkpoint(self, source: str, kind: str) -> str | None: ...

    def save_checkpoint(self, source: str, kind: str, cursor: str, now: datetime) -> None: ...

    def imported(self, source: str, kind: str, source_id: str) -> ImportedId | None: ...

    def remember(
        self,
        source: str,
        kind: str,
        source_id: str,
        local_id: str,
        source_updated_at: datetime | None,
    ) -> None:
        """Record (or move forward) what `source_id` became."""
        ...


@dataclass(frozen=True, slots=True)
class PageDone:
    """In an incremental stream: every object before this mark was handed over, and a
    stream opened again at `cursor` goes on after them."""

    cursor: str


Record = dict[str, Any]


class ZendeskSource(Protocol):
    """One Zendesk account, read: each object as Zendesk's JSON."""

    @property
    def url(self) -> str: ...

    def check(self) -> None:
        """Reach the account and prove the credential (raises SourceRefused if not)."""
        ...

    def users(self, cursor: str | None) -> Iterator[Record | PageDone]: ...

    def tickets(self, cursor: str | None) -> Iterator[Record | PageDone]: ...

    def comments(self, ticket_id: int) -> Iterator[Record]: ...

    def groups(self) -> Iterator[Record]: ...

    def organizations(self) -> Iterator[Record]: ...

    def ticket_fields(self) -> Iterator[Record]: ...

    def satisfaction_ratings(self) -> Iterator[Record]: ...

    def download(self, url: str, limit: int) -> bytes | None:
        """The file at `url`, or None when it is larger than `limit` bytes."""
        ...


class SourceRefused(Exception):
    """The account could not be read at all: wrong address, no answer, refused credential."""


class HasTicketFields(Protocol):
    @property
    def ticket_fields(self) -> TicketFieldRepository: ...


class HasImportRecords(Protocol):
    @property
    def zendesk_imports(self) -> ImportRecords: ...
