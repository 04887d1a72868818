"""The SQLAlchemy unit of work: one session, one transaction, all repositories."""

from __future__ import annotations

from typing import Any, Self

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from caredesk.adapters.db.console_queries import SqlConsoleQueries
from caredesk.adapters.db.engine import READ_ONLY_OPTION
from caredesk.adapters.db.grants_repo import (
    SqlApprovalRepository,
    SqlGrantRepository,
    SqlLedgerRepository,
    SqlPolicyRepository,
)
from caredesk.adapters.db.jobs_repo import SqlJobRepository
from caredesk.adapters.db.knowledge_repo import (
    SqlArticleRepository,
    SqlKnownIssueRepository,
    SqlSearchIndexRepository,
    SqlTriageRepository,
)
from caredesk.adapters.db.lifecycle_repo import SqlLifecycleRepository
from caredesk.adapters.db.mail_repo import SqlMailRepository
from caredesk.adapters.db.portal_repo import SqlPortalRepository
from caredesk.adapters.db.repositories import (
    SqlAgentRepository,
    SqlAuditLog,
    SqlBlobStore,
    SqlCaseRepository,
    SqlCustomerRepository,
    SqlIdempotencyStore,
    SqlOrderRepository,
    SqlProductRepository,
    SqlSessionRepository,
    SqlTeamRepository,
    SqlTokenRepository,
)
from caredesk.adapters.db.sla_repo import SqlSlaRepository
from caredesk.adapters.db.webhooks_repo import SqlWebhookRepository
from caredesk.domain.errors import DomainError, ErrorCode


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: sessionmaker[OrmSession]) -> None:
        self._session_factory = session_factory
        self.session: OrmSession | None = None

    def __enter__(self) -> Self:
        session = self._session_factory()
        self.session = session
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
        self.jobs = SqlJobRepository(session)
        self.sla = SqlSlaRepository(session)
        self.webhooks = SqlWebhookRepository(session)
        self.portal = SqlPortalRepository(session)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.session is not None
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None
        if isinstance(exc, StaleDataError):
            raise DomainError(
                "the record was changed by someone else; reload and try again",
                code=ErrorCode.VERSION_CONFLICT,
            ) from exc
        if isinstance(exc, IntegrityError):
            raise DomainError(
                "the change conflicts with data already stored", code=ErrorCode.CONFLICT
            ) from exc

    def commit(self) -> None:
        assert self.session is not None
        try:
            self.session.commit()
        except OperationalError as exc:
            # SQLite reports a lost write lock race this way; the caller may retry.
            raise DomainError("the database is busy; try again", code=ErrorCode.CONFLICT) from exc

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()


class SqlAlchemyUnitOfWorkFactory:
    """Makes units of work; read-only ones let SQLite readers run beside a writer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._reader = sessionmaker(
            bind=engine.execution_options(**{READ_ONLY_OPTION: True}),
            expire_on_commit=False,
            autoflush=False,
        )

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._writer)

    def read_only(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._reader)
