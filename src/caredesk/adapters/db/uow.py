"""The SQLAlchemy unit of work: one session, one transaction, all repositories."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Self

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from caredesk.adapters.db.access_repo import (
    SqlAgentRepository,
    SqlSessionRepository,
    SqlTeamRepository,
    SqlTokenRepository,
)
from caredesk.adapters.db.cases_repo import SqlCaseRepository
from caredesk.adapters.db.conflicts import retryable
from caredesk.adapters.db.console_queries import SqlConsoleQueries
from caredesk.adapters.db.core_repo import SqlAuditLog, SqlBlobStore, SqlIdempotencyStore
from caredesk.adapters.db.customers_repo import (
    SqlCustomerRepository,
    SqlOrderRepository,
    SqlProductRepository,
)
from caredesk.adapters.db.engine import READ_ONLY_OPTION
from caredesk.adapters.db.erasure_repo import SqlErasureStore
from caredesk.adapters.db.grants_repo import (
    SqlApprovalRepository,
    SqlGrantRepository,
    SqlLedgerRepository,
    SqlPolicyRepository,
)
from caredesk.adapters.db.jobs_repo import SqlJobRepository
from caredesk.adapters.db.knowledge_repo import SqlArticleRepository, SqlKnownIssueRepository
from caredesk.adapters.db.lifecycle_repo import SqlLifecycleRepository
from caredesk.adapters.db.mail_repo import SqlMailRepository, SqlOutboxRepository
from caredesk.adapters.db.portal_repo import SqlPortalRepository
from caredesk.adapters.db.search_index_repo import SqlSearchIndexRepository
from caredesk.adapters.db.sla_repo import SqlSlaRepository
from caredesk.adapters.db.throttle_repo import SqlThrottleRepository
from caredesk.adapters.db.triage_repo import SqlTriageRepository
from caredesk.adapters.db.webhooks_repo import SqlWebhookRepository
from caredesk.adapters.formats import DeskFormats
from caredesk.domain.events import Event
from caredesk.services.core.messagebus import EventBus
from caredesk.services.core.ports import TextFormats


class SqlAlchemyUnitOfWork:
    def __init__(
        self, session_factory: sessionmaker[OrmSession], bus: EventBus, formats: TextFormats
    ) -> None:
        self._session_factory = session_factory
        self._bus = bus
        self.formats = formats
        self.session: OrmSession | None = None
        self._published: list[Event] = []

    def __enter__(self) -> Self:
        session = self._session_factory()
        self.session = session
        self._published = []
        self.customers = SqlCustomerRepository(session)
        self.products = SqlProductRepository(session)
        self.orders = SqlOrderRepository(session)
        self.cases = SqlCaseRepository(session)
        self.blobs = SqlBlobStore(session)
        self.agents = SqlAgentRepository(session)
        self.teams = SqlTeamRepository(session)
        self.tokens = SqlTokenRepository(session)
        self.sessions = SqlSessionRepository(session)
        self.audit = SqlAuditLog(session)
        self.idempotency = SqlIdempotencyStore(session)
        self.grants = SqlGrantRepository(session)
        self.approvals = SqlApprovalRepository(session)
        self.ledger = SqlLedgerRepository(session)
        self.policies = SqlPolicyRepository(session)
        self.console = SqlConsoleQueries(session)
        self.articles = SqlArticleRepository(session)
        self.known_issues = SqlKnownIssueRepository(session)
        self.search = SqlSearchIndexRepository(session)
        self.triage = SqlTriageRepository(session)
        self.lifecycle = SqlLifecycleRepository(session)
        self.mail = SqlMailRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.jobs = SqlJobRepository(session)
        self.sla = SqlSlaRepository(session)
        self.webhooks = SqlWebhookRepository(session)
        self.portal = SqlPortalRepository(session)
        self.throttles = SqlThrottleRepository(session)
        self.erasure = SqlErasureStore(session)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.session is not None
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None
            self._published = []
        conflict = retryable(exc) if exc is not None else None
        if conflict is not None:
            raise conflict from exc

    def publish(self, event: Event) -> None:
        self._published.append(event)

    def collect_new_events(self) -> Iterator[Event]:
        while self._published:
            yield self._published.pop(0)
        for case in self.cases.seen:
            while case.events:
                yield case.events.pop(0)

    def commit(self) -> None:
        assert self.session is not None
        # The follow-on effects first, in this transaction: they commit with the change.
        self._bus.dispatch(self)
        try:
            self.session.commit()
        except DBAPIError as exc:
            conflict = retryable(exc)
            if conflict is None:
                raise
            raise conflict from exc

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()


class SqlAlchemyUnitOfWorkFactory:
    """Makes units of work; read-only ones let SQLite readers run beside a writer."""

    def __init__(
        self, engine: Engine, bus: EventBus | None = None, formats: TextFormats | None = None
    ) -> None:
        self.engine = engine
        # Bootstrap fills the table in once the handlers' own services are built.
        self.bus = bus or EventBus()
        self.formats = formats or DeskFormats()
        self._writer = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._reader = sessionmaker(
            bind=engine.execution_options(**{READ_ONLY_OPTION: True}),
            expire_on_commit=False,
            autoflush=False,
        )

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._writer, self.bus, self.formats)

    def read_only(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._reader, self.bus, self.formats)
