"""What the services need from the outside world, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, Self, TypeVar

from caredesk.domain.agents import Agent, Team
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Case, CaseStatus, Message
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.events import Event
from caredesk.domain.grants import Approval, ApprovalStatus, Grant, LedgerEntry, PolicyVersion
from caredesk.domain.mail import MailTemplate
from caredesk.domain.orders import Order
from caredesk.domain.policy.loading import LoadedPolicy
from caredesk.domain.policy.review import PolicyChange, PolicyChangeStatus
from caredesk.domain.policy.value import OrderHistory
from caredesk.domain.tokens import ApiToken, Session
from caredesk.services.access.throttle_ports import ThrottleRepository
from caredesk.services.channels.mail_ports import MailRepository, OutboxRepository
from caredesk.services.channels.portal_ports import PortalRepository
from caredesk.services.channels.webhooks_ports import WebhookRepository
from caredesk.services.console.ports import ConsoleQueries
from caredesk.services.core.jobs_ports import JobRepository
from caredesk.services.knowledge.ports import (
    ArticleRepository,
    KnownIssueRepository,
    SearchIndexRepository,
    TriageRepository,
)
from caredesk.services.lifecycle.ports import LifecycleRepository
from caredesk.services.privacy.ports import ErasureStore
from caredesk.services.sla.ports import SlaRepository

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: Sequence[CaseStatus] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    team_id: int | None = None
    tag: str | None = None
    customer_id: str | None = None
    updated_since: datetime | None = None
    text: str | None = None


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


class Clock(Protocol):
    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class CustomerRepository(Protocol):
    def add(self, customer: Customer) -> None: ...

    def get(self, customer_id: str) -> Customer | None: ...

    def save(self, customer: Customer) -> None: ...

    def delete(self, customer_id: str) -> None: ...

    def email_owner(self, email: str) -> str | None: ...

    def search(self, query: str | None, limit: int, cursor: str | None) -> Page[Customer]: ...

    def iterate(self) -> Iterator[Customer]: ...

    def has_history(self, customer_id: str) -> bool: ...


class ProductRepository(Protocol):
    def add(self, product: Product) -> None: ...

    def get(self, product_id: str) -> Product | None: ...

    def save(self, product: Product) -> None: ...

    def get_variant(self, variant_id: str) -> Variant | None: ...

    def variants(self, product_ids: set[str], variant_ids: set[str]) -> list[Variant]:
        """Every variant of these products, plus these variants, in one read."""
        ...

    def find(self, limit: int, cursor: str | None) -> Page[Product]: ...

    def iterate(self) -> Iterator[Product]: ...


class OrderRepository(Protocol):
    def add(self, order: Order) -> None: ...

    def get(self, order_id: str) -> Order | None: ...

    def save(self, order: Order) -> None: ...

    def for_customer(self, customer_id: str) -> list[Order]: ...

    def history(self, customer_id: str) -> OrderHistory: ...

    def latest_id(self, customer_id: str) -> str | None: ...

    def iterate(self) -> Iterator[Order]: ...


class CaseRepository(Protocol):
    def add(self, case: Case) -> None: ...

    def get(self, case_id: int) -> Case | None: ...

    def get_for_change(self, case_id: int) -> Case | None:
        """The case, held against other writers until the unit of work ends: a change made
        at the same moment waits for this one and then reads what it left."""
        ...

    def save(self, case: Case) -> None:
        """Persist changes; raises a version conflict if someone saved in between."""
        ...

    def find(self, filters: CaseFilter, limit: int, cursor: str | None) -> Page[Case]: ...

    def add_message(self, message: Message) -> None: ...

    def messages(self, case_id: int) -> list[Message]: ...


class BlobStore(Protocol):
    def put(self, content: bytes) -> str:
        """Store content once under its SHA-256 and return the hash."""
        ...

    def get(self, sha256: str) -> bytes | None: ...


class AgentRepository(Protocol):
    def add(self, agent: Agent) -> None: ...

    def get(self, agent_id: int) -> Agent | None: ...

    def get_by_email(self, email: str) -> Agent | None: ...

    def save(self, agent: Agent) -> None: ...

    def all(self) -> list[Agent]: ...


class TeamRepository(Protocol):
    def add(self, team: Team) -> None: ...

    def get(self, team_id: int) -> Team | None: ...

    def get_by_name(self, name: str) -> Team | None: ...

    def all(self) -> list[Team]: ...


class TokenRepository(Protocol):
    def add(self, token: ApiToken) -> None: ...

    def get(self, token_id: int) -> ApiToken | None: ...

    def get_by_hash(self, token_hash: str) -> ApiToken | None: ...

    def save(self, token: ApiToken) -> None: ...

    def all(self) -> list[ApiToken]: ...


class SessionRepository(Protocol):
    def add(self, session: Session) -> None: ...

    def get_by_hash(self, token_hash: str) -> Session | None: ...

    def save(self, session: Session) -> None: ...


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


class UnitOfWork(Protocol):
    @property
    def formats(self) -> TextFormats: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def products(self) -> ProductRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def cases(self) -> CaseRepository: ...

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def agents(self) -> AgentRepository: ...

    @property
    def teams(self) -> TeamRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def grants(self) -> GrantRepository: ...

    @property
    def approvals(self) -> ApprovalRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def policies(self) -> PolicyRepository: ...

    @property
    def console(self) -> ConsoleQueries: ...

    @property
    def articles(self) -> ArticleRepository: ...

    @property
    def known_issues(self) -> KnownIssueRepository: ...

    @property
    def search(self) -> SearchIndexRepository: ...

    @property
    def triage(self) -> TriageRepository: ...

    @property
    def lifecycle(self) -> LifecycleRepository: ...

    @property
    def mail(self) -> MailRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def jobs(self) -> JobRepository: ...

    @property
    def sla(self) -> SlaRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def portal(self) -> PortalRepository: ...

    @property
    def throttles(self) -> ThrottleRepository: ...

    @property
    def erasure(self) -> ErasureStore: ...

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


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass(frozen=True, slots=True)
class SpendWindow:
    """Sums of executed grants that authority, budgets, guardrails and caps add a new grant
    to; a reversed grant and its reversal count for nothing."""

    case_spent: Decimal
    agent_spent_today: Decimal
    customer_grants_90d: int
    customer_refunds_365d: Decimal
    customer_spend_365d: Decimal
    order_spent: Decimal


class GrantRepository(Protocol):
    def add(self, grant: Grant) -> None: ...

    def get(self, grant_id: int) -> Grant | None: ...

    def save(self, grant: Grant) -> None: ...

    def by_idempotency_key(self, actor: str, key: str) -> Grant | None: ...

    def for_case(self, case_id: int) -> list[Grant]: ...

    def for_customer(self, customer_id: str) -> list[Grant]: ...

    def spend(
        self,
        *,
        case_id: int | None,
        agent_id: int | None,
        customer_id: str,
        order_id: str | None,
        day_start: datetime,
        now: datetime,
    ) -> SpendWindow: ...

    def team_spend(self, team_id: int | None, since: datetime) -> Decimal: ...

    def lock_scopes(self, scopes: Collection[str]) -> None:
        """Hold these scopes ("agent:7", "customer:c1", "budget:*", …) until the transaction
        ends, waiting for any other transaction that holds one, and read from then on what it
        committed: the sums read next count every grant on them, and no other grant on them
        commits before this one does."""
        ...


class ApprovalRepository(Protocol):
    def add(self, approval: Approval) -> None: ...

    def get(self, approval_id: int) -> Approval | None: ...

    def for_grant(self, grant_id: int) -> Approval | None: ...

    def save(self, approval: Approval) -> None: ...

    def find(self, status: ApprovalStatus | None, limit: int) -> list[Approval]: ...


class LedgerRepository(Protocol):
    def add(self, entries: list[LedgerEntry]) -> None: ...

    def for_grant(self, grant_id: int) -> list[LedgerEntry]: ...

    def balance(self, account: str) -> Decimal: ...

    def trial_balance(self) -> Decimal: ...


class PolicyRepository(Protocol):
    def active(self) -> PolicyVersion | None: ...

    def active_digest(self) -> str | None: ...

    def get(self, version: str) -> PolicyVersion | None: ...

    def add(self, version: PolicyVersion) -> None: ...

    def activate(self, version: str) -> None: ...

    def history(self) -> list[PolicyVersion]: ...

    def lock(self) -> None:
        """Hold the policy in force until commit: changes to it run one after the other."""
        ...

    def add_change(self, change: PolicyChange) -> None: ...

    def get_change(self, change_id: int) -> PolicyChange | None: ...

    def save_change(self, change: PolicyChange) -> None: ...

    def changes(self, status: PolicyChangeStatus | None, limit: int) -> list[PolicyChange]: ...
