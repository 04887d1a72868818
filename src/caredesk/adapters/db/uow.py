"""The SQLAlchemy unit of work: one session, one transaction, every repository.

A repository is built the first time a command reaches for it in a transaction, so a
command pays for the few it uses, not for all of them.

A read-only unit is one transaction for everything a page shows: a service entering it again
while it is open joins that transaction (the page's reads, each service still saying `with
uow:`), and it keeps every row it loaded, so a row read once is found again by its key
without another query."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, Self, TypeVar, overload

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from caredesk.adapters.db import case_facts
from caredesk.adapters.db.access_repo import (
    SqlAgentRepository,
    SqlConsoleSessionRepository,
    SqlTeamRepository,
    SqlTokenRepository,
)
from caredesk.adapters.db.cases_repo import SqlCaseRepository
from caredesk.adapters.db.config_cache import ConfigCache, ConfigReads
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
from caredesk.adapters.db.notifications import forget_notifications, send_notifications
from caredesk.adapters.db.portal_repo import SqlPortalRepository
from caredesk.adapters.db.reports import SqlReportQueries
from caredesk.adapters.db.retention import SqlRetentionQueries
from caredesk.adapters.db.search_index_repo import SqlSearchIndexRepository
from caredesk.adapters.db.sla_repo import SqlSlaRepository
from caredesk.adapters.db.throttle_repo import SqlThrottleRepository
from caredesk.adapters.db.triage_repo import SqlTriageRepository
from caredesk.adapters.db.webhooks_repo import SqlWebhookRepository
from caredesk.adapters.db.zendesk_people import SqlUserDirectory
from caredesk.adapters.db.zendesk_repo import (
    SqlCaseStream,
    SqlImportRecords,
    SqlRatingRepository,
    SqlTicketFieldRepository,
    SqlUploadRepository,
)
from caredesk.adapters.formats import DeskFormats
from caredesk.domain.events import Event
from caredesk.services.core.messagebus import EventBus
from caredesk.services.core.ports import TextFormats

R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository of the unit of work, built on first use in each transaction; one that
    keeps configuration in the process's cache is built with the unit of work's `config`."""

    def __init__(self, build: Callable[..., R], *, reads_config: bool = False) -> None:
        self._build = build
        self._reads_config = reads_config
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Self: ...

    @overload
    def __get__(self, uow: SqlAlchemyUnitOfWork, owner: type) -> R: ...

    def __get__(self, uow: SqlAlchemyUnitOfWork | None, owner: type) -> R | Self:
        if uow is None:
            return self
        built = uow.built.get(self._name)
        if built is None:
            if uow.session is None or uow.config is None:
                raise RuntimeError(f"{self._name}: the unit of work is not open")
            given = (uow.session, uow.config) if self._reads_config else (uow.session,)
            built = uow.built[self._name] = self._build(*given)
        return built


class SqlAlchemyUnitOfWork:
    customers = _Repository(SqlCustomerRepository)
    products = _Repository(SqlProductRepository)
    orders = _Repository(SqlOrderRepository)
    cases = _Repository(SqlCaseRepository)
    blobs = _Repository(SqlBlobStore)
    agents = _Repository(SqlAgentRepository, reads_config=True)
    teams = _Repository(SqlTeamRepository, reads_config=True)
    tokens = _Repository(SqlTokenRepository, reads_config=True)
    console_sessions = _Repository(SqlConsoleSessionRepository)
    audit = _Repository(SqlAuditLog)
    idempotency = _Repository(SqlIdempotencyStore)
    grants = _Repository(SqlGrantRepository)
    approvals = _Repository(SqlApprovalRepository)
    ledger = _Repository(SqlLedgerRepository)
    policies = _Repository(SqlPolicyRepository, reads_config=True)
    console = _Repository(SqlConsoleQueries)
    retention = _Repository(SqlRetentionQueries)
    reports = _Repository(SqlReportQueries)
    articles = _Repository(SqlArticleRepository, reads_config=True)
    known_issues = _Repository(SqlKnownIssueRepository, reads_config=True)
    search = _Repository(SqlSearchIndexRepository)
    triage = _Repository(SqlTriageRepository, reads_config=True)
    lifecycle = _Repository(SqlLifecycleRepository)
    mail = _Repository(SqlMailRepository, reads_config=True)
    outbox = _Repository(SqlOutboxRepository)
    jobs = _Repository(SqlJobRepository)
    sla = _Repository(SqlSlaRepository, reads_config=True)
    webhooks = _Repository(SqlWebhookRepository, reads_config=True)
    portal = _Repository(SqlPortalRepository)
    throttles = _Repository(SqlThrottleRepository)
    erasure = _Repository(SqlErasureStore, reads_config=True)
    zendesk_users = _Repository(SqlUserDirectory)
    zendesk_cases = _Repository(SqlCaseStream)
    zendesk_ratings = _Repository(SqlRatingRepository)
    zendesk_imports = _Repository(SqlImportRecords)
    ticket_fields = _Repository(SqlTicketFieldRepository)
    zendesk_uploads = _Repository(SqlUploadRepository)

    def __init__(
        self,
        session_factory: sessionmaker[OrmSession],
        bus: EventBus,
        formats: TextFormats,
        config_cache: ConfigCache,
        *,
        read_only: bool = False,
    ) -> None:
        self._session_factory = session_factory
        self._bus = bus
        self.formats = formats
        self._config_cache = config_cache
        self._read_only = read_only
        self.session: OrmSession | None = None
        self.config: ConfigReads | None = None
        self._published: list[Event] = []
        self.built: dict[str, Any] = {}
        # How many services entered this read-only unit again while it was open.
        self._joined = 0

    def __enter__(self) -> Self:
        if self._read_only and self.session is not None:
            self._joined += 1
            return self
        session = self._session_factory()
        self.session = session
        self.config = ConfigReads(session, self._config_cache)
        self._published = []
        self.built = {}
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.session is not None
        if self._joined:
            # A service that joined the open unit leaves the transaction to whoever opened it.
            self._joined -= 1
            return
        try:
            self.session.rollback()
        finally:
            forget_notifications(self.session)
            case_facts.forget(self.session)
            self.session.close()
            self.session = None
            self.config = None
            self._published = []
            self.built = {}
        conflict = retryable(exc) if exc is not None else None
        if conflict is not None:
            raise conflict from exc

    def publish(self, event: Event) -> None:
        self._published.append(event)

    def collect_new_events(self) -> Iterator[Event]:
        while self._published:
            yield self._published.pop(0)
        # Only a transaction that reached for cases can hold changed ones.
        cases = self.built.get("cases")
        for case in cases.seen if cases is not None else ():
            while case.events:
                yield case.events.pop(0)

    def commit(self) -> None:
        assert self.session is not None
        # The follow-on effects first, in this transaction: they commit with the change.
        self._bus.dispatch(self)
        audit = self.built.get("audit")
        if audit is not None:
            audit.write_pending()
        # After the audit lines: a reopening is read from the trail.
        case_facts.refresh_touched(self.session, lambda policy: self.sla.policy_calendar(policy))
        assert self.config is not None
        self.config.write_stamps()
        send_notifications(self.session)
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
        forget_notifications(self.session)
        case_facts.forget(self.session)


class SqlAlchemyUnitOfWorkFactory:
    """Makes units of work; read-only ones let SQLite readers run beside a writer."""

    def __init__(
        self, engine: Engine, bus: EventBus | None = None, formats: TextFormats | None = None
    ) -> None:
        self.engine = engine
        # Bootstrap fills the table in once the handlers' own services are built.
        self.bus = bus or EventBus()
        self.formats = formats or DeskFormats()
        # This process's copies of slow-changing configuration (config_cache.py).
        self.config_cache = ConfigCache()
        self._writer = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._reader = sessionmaker(
            bind=engine.execution_options(**{READ_ONLY_OPTION: True}),
            expire_on_commit=False,
            autoflush=False,
        )
        # A session forgets a row nothing refers to any more (its identity map is weak): a
        # page whose services each read the case's customer or order by its key would load it
        # again each time. A reader changes nothing, so it keeps every row it loaded until it
        # closes (SQLAlchemy's "strong reference" recipe, "Session Referencing Behavior"). A
        # reader walking a whole large table (cursors.walk) would so hold it all: none does,
        # the exports and scans walk in units that write.
        event.listen(self._reader, "loaded_as_persistent", _keep_loaded_row)

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._writer, self.bus, self.formats, self.config_cache)

    def read_only(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(
            self._reader, self.bus, self.formats, self.config_cache, read_only=True
        )


_LOADED_ROWS = "caredesk_loaded_rows"


def _keep_loaded_row(session: OrmSession, row: object) -> None:
    session.info.setdefault(_LOADED_ROWS, []).append(row)
