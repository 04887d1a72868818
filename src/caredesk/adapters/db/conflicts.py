"""Where two writes meet: the conflict a command runs again, a stale version, a lost insert race."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.exc import StaleDataError

from caredesk.adapters.db.models import Base
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.core.ports import RetryableConflict

T = TypeVar("T")

# PostgreSQL's SQLSTATEs for "run the transaction again": serialization_failure, deadlock.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})


def retryable(exc: BaseException) -> RetryableConflict | None:
    """The conflict a concurrent transaction caused, as an error the command may retry."""
    if isinstance(exc, StaleDataError):
        # `conflict`, not `version_conflict`: that one means the version the client sent.
        return RetryableConflict(
            "the record was changed by someone else at the same moment; try again"
        )
    if isinstance(exc, IntegrityError):
        # Two inserts that took the same key at once; run again, the second finds the first.
        return RetryableConflict("the change conflicts with data already stored")
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in RETRY_SQLSTATES or isinstance(exc, OperationalError):
            # SQLite reports a lost write lock race as an OperationalError too.
            return RetryableConflict("the database is busy; try again")
    return None


def version_conflict(entity: str, entity_id: object, expected: int, actual: int) -> DomainError:
    """The version the client sent is not the stored one: the client must look again."""
    return DomainError(
        f"{entity} {entity_id} was changed by someone else (version {actual}, you had {expected})",
        code=ErrorCode.VERSION_CONFLICT,
        details={"entity": entity, "id": str(entity_id), "current_version": actual},
    )


def insert_or_find(session: OrmSession, row: Base, find: Callable[[], T | None]) -> T | None:
    """Insert `row`, or when a concurrent transaction took its unique key first, what `find`
    finds of that one's; None when `row` went in.

    Another transaction may insert the same key between the caller's read and this write; a
    savepoint keeps the caller's transaction alive when that race is lost. A unique key that
    `find` does not find was not that race: its error stands.
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        winner = find()
        if winner is None:
            raise
        return winner
    return None
