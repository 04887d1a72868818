"""What the Zendesk-compatible API and the import from Zendesk need from storage and from an
account: the integer ids of its users, the cases in the order they last changed, ratings, the
files sent ahead of their comments, the import's checkpoints and id mapping, ticket fields,
and the account read."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from caredesk.domain.agents import Agent
from caredesk.domain.cases import Attachment, Case
from caredesk.domain.customers import Customer
from caredesk.domain.portal import SatisfactionSurvey


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


@dataclass(frozen=True, slots=True)
class Person:
    """A user as /api/v2 lists them: the user id and the customer or the agent it stands for."""

    user_id: int
    customer: Customer | None = None
    agent: Agent | None = None


@dataclass(frozen=True, slots=True)
class PeopleFilter:
    """Which users a list keeps: customers, agents of these roles (by caredesk role), or both."""

    customers: bool = True
    agent_roles: frozenset[str] | None = None  # None: every agent; empty: no agent


class UserDirectory(UserIdRepository, Protocol):
    def unnumbered(self) -> bool:
        """Whether any customer or agent has no user id yet, in one read."""
        ...

    def number_everyone(self, now: datetime) -> None:
        """Give every customer and agent without a user id one, in one statement each."""
        ...

    def page(self, kept: PeopleFilter, after: int | None, limit: int) -> list[Person]:
        """Up to `limit` users by ascending user id, past `after`; only numbered people."""
        ...

    def count(self, kept: PeopleFilter) -> int: ...

    def of_ids(self, user_ids: Collection[int]) -> list[Person]: ...

    def matching(
        self, *, external_id: str | None, email: str | None, text: str | None, limit: int
    ) -> list[Person]:
        """Numbered people whose customer id, email (exactly) or name/email (in part) match."""
        ...

    def changed(self, after: tuple[datetime, int], limit: int) -> list[tuple[datetime, Person]]:
        """Numbered people by the time they changed, then user id, past `after` (a time and a
        user id), with the time each changed."""
        ...


class HasUserIds(Protocol):
    @property
    def zendesk_users(self) -> UserDirectory: ...


class CaseStream(Protocol):
    def changed_after(self, updated_at: datetime, case_id: int, limit: int) -> list[Case]:
        """Up to `limit` cases updated after (`updated_at`, `case_id`), oldest update first
        and then by id: a case updated again moves to the end and is read again."""
        ...


class HasCaseStream(Protocol):
    @property
    def zendesk_cases(self) -> CaseStream: ...


class RatingRepository(Protocol):
    def page(self, after_id: int, limit: int) -> list[SatisfactionSurvey]:
        """Up to `limit` surveys of ids above `after_id`, by id."""
        ...

    def count(self) -> int: ...

    def get(self, survey_id: int) -> SatisfactionSurvey | None: ...


class HasRatings(Protocol):
    @property
    def zendesk_ratings(self) -> RatingRepository: ...


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
        """The file at `url`, or None when it is larger than `limit` bytes; DownloadFailed
        when it cannot be fetched."""
        ...


class SourceRefused(Exception):
    """The account could not be read at all: wrong address, no answer, refused credential."""


class DownloadFailed(Exception):
    """One file could not be fetched (refused, gone, cut off): the comment is kept without
    it, and the report says which and why."""


class HasTicketFields(Protocol):
    @property
    def ticket_fields(self) -> TicketFieldRepository: ...


class HasImportRecords(Protocol):
    @property
    def zendesk_imports(self) -> ImportRecords: ...


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
