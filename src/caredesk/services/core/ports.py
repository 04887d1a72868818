"""What the services need from the outside world, as Protocols the adapters implement."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, Self, TypeVar

from caredesk.domain.audit import AuditEvent
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.events import Event
from caredesk.domain.jobs import Job, JobState, Outcome
from caredesk.domain.mail import MailTemplate
from caredesk.domain.policy.loading import LoadedPolicy

T = TypeVar("T")
Record = TypeVar("Record")
Key = TypeVar("Key", contravariant=True)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    principal: str
    key: str
    fingerprint: str
    created_at: datetime
    response: StoredResponse | None = None


class RetryableConflict(DomainError):
    """Two transactions met and the database undid one of them: running it again succeeds.

    Raised by the unit of work for a concurrent write to the same row, a serialisation
    failure or deadlock (PostgreSQL) and a busy database (SQLite); `services.commands`
    runs the command again, and only when retries run out does the caller see it.
    """

    code = ErrorCode.CONFLICT


class Repository(Protocol[Record, Key]):
    """What a repository of one kind of record does first: add one, get one by its key and
    save one changed; each kind's repository names what else it does."""

    def add(self, record: Record) -> None: ...

    def get(self, key: Key) -> Record | None: ...

    def save(self, record: Record) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> None: ...

    def for_case(self, case_id: int) -> list[AuditEvent]: ...

    def for_entity(self, entity_type: str, entity_id: str) -> list[AuditEvent]: ...


class IdempotencyStore(Protocol):
    def reserve(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Claim the key; return the existing record instead if it was claimed before."""
        ...

    def complete(self, principal: str, key: str, response: StoredResponse) -> None: ...

    def release(self, principal: str, key: str) -> None: ...


class TextFormats(Protocol):
    """Markdown and YAML, which the services never parse themselves: an adapter reads them."""

    def render_markdown(self, text: str) -> str:
        """CommonMark (with tables) rendered, then sanitised; never raises on odd input."""
        ...

    def plain_text(self, text: str) -> str:
        """The words of a Markdown text, for indexing and snippets: no markup, no tags."""
        ...

    def html_text(self, markup: str) -> str:
        """The text of an HTML fragment from outside (untrusted): cleaned as an inbound
        mail's HTML is, its paragraphs and line breaks kept, no tags."""
        ...

    def parse_policy(self, text: str) -> LoadedPolicy:
        """A policy file read and validated whole; PolicyInvalid names each problem's line."""
        ...

    def packaged_mail_templates(self) -> Mapping[str, MailTemplate]:
        """The mail templates that come with the desk, by name."""
        ...

    def packaged_macros(self) -> Sequence[tuple[str, str, str]]:
        """(id, title, body) of the macros that come with the desk."""
        ...

    def parse_yaml(self, text: str) -> object:
        """A YAML document as plain data; ValidationFailed saying why when it is not YAML."""
        ...


class JobRepository(Protocol):
    def add(self, job: Job) -> int:
        """Store a new job; when its key is already stored, return that job's id instead."""
        ...

    def get(self, job_id: int) -> Job | None: ...

    def by_key(self, key: str) -> Job | None: ...

    def save(self, job: Job) -> None: ...

    def find(self, state: JobState | None, limit: int, after_id: int | None) -> list[Job]:
        """Newest first; `after_id` pages on to older jobs."""
        ...

    def counts(self) -> dict[JobState, int]: ...

    def claim(self, worker: str, now: datetime, lease: timedelta, limit: int) -> list[Job]:
        """Take up to `limit` due jobs (queued and due, or running with an expired lease) for
        `worker`, in one statement, oldest due first.

        Two workers never take the same job: rows are locked and skipped (PostgreSQL) or the
        claim runs as the single writer (SQLite). Each taken job counts one more attempt.
        """
        ...

    def record(self, worker: str, outcomes: Sequence[Outcome], now: datetime) -> set[int]:
        """Write how `worker`'s runs ended (finished at `now`); the ids of the jobs written.

        Only jobs `worker` still holds are written: one whose lease ran out and that another
        worker took belongs to that worker now, and its outcome counts.
        """
        ...

    def extend_leases(self, job_ids: Collection[int], worker: str, until: datetime) -> int:
        """Hold running jobs longer; how many of them `worker` still holds."""
        ...

    def claim_timer(self, name: str, every: timedelta, now: datetime) -> bool:
        """True when this caller won the timer's run due at `now`; it is then due `every` later."""
        ...


class JobWakeups(Protocol):
    """How an idle worker hears that jobs were queued: a notification where the database sends
    one, and otherwise a poll."""

    def wait(self, stop: threading.Event) -> bool:
        """Return when jobs may be due: True when word came (or may have been missed), False
        when the poll interval passed or `stop` was set (at once)."""
        ...

    def close(self) -> None: ...


class Transaction(Protocol):
    """What every unit of work is: one transaction whose events' handlers run at commit.

    Each feature names the repositories its commands may reach as its own unit (e.g.
    `MailIntakeUnit` in services/channels/ports.py), composed from the `Has…` protocols
    beside each repository; the adapter's unit of work has them all (services/unit_of_work.py).
    A command typed with its feature's unit cannot touch another feature's tables: mypy says so.
    """

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: Any) -> None: ...

    def publish(self, event: Event) -> None:
        """Record an event of this unit of work; its handlers run at commit."""
        ...

    def collect_new_events(self) -> Iterator[Event]:
        """The events recorded since the last call, aggregates' own included."""
        ...

    def commit(self) -> None:
        """Run the handlers of every recorded event, then commit it all together."""
        ...

    def rollback(self) -> None: ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasFormats(Protocol):
    @property
    def formats(self) -> TextFormats: ...


class HasAudit(Protocol):
    @property
    def audit(self) -> AuditLog: ...


class HasIdempotency(Protocol):
    @property
    def idempotency(self) -> IdempotencyStore: ...


class HasJobs(Protocol):
    @property
    def jobs(self) -> JobRepository: ...
