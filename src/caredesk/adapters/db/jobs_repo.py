"""The job queue's tables: claiming in batches with row locks that skip each other, and
telling idle workers on PostgreSQL that due jobs were queued."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Insert, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.conflicts import insert_or_find
from caredesk.adapters.db.notifications import notify_on_commit
from caredesk.adapters.db.rows import column_values, from_row, onto_row
from caredesk.domain.jobs import Job, JobState, Outcome
from caredesk.services.core.ports import RetryableConflict

# What a job is from the moment it is queued; a save writes only how its running went.
_QUEUED_AS = ("id", "kind", "payload", "key", "created_at")
# The channel of PostgreSQL's NOTIFY that wakes idle workers (adapters/db/job_wakeups.py).
JOBS_CHANNEL = "caredesk_jobs"
_RUNNING = JobState.RUNNING.value
_JOBS = m.JobRow.__table__


class SqlJobRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def _announce(self, job: Job) -> None:
        """Wake idle workers when `job` is due now; PostgreSQL delivers the notification when
        this transaction commits, and never for one rolled back. A job due later is found by
        the workers' poll; SQLite has no notifications and its worker polls."""
        if job.state is not JobState.QUEUED or job.run_at > (job.updated_at or job.created_at):
            return
        notify_on_commit(self.session, JOBS_CHANNEL)

    def _id_for_key(self, key: str) -> int | None:
        return self.session.scalar(select(m.JobRow.id).where(m.JobRow.key == key))

    def add(self, job: Job) -> int:
        # One statement a job, keyed or not: the outbox is written with every change (a new
        # case queues two), where a read of the key, a savepoint and an ORM flush cost four.
        values = column_values(job, skip=("id",), updated_at=job.updated_at or job.created_at)
        if job.key is None:
            statement: Insert = _insert(self.session)(_JOBS).values(values)
        else:
            # A key already queued, by this transaction or a committed one, inserts nothing;
            # on PostgreSQL one still being written is waited for, then found.
            statement = (
                _insert(self.session)(_JOBS)
                .values(values)
                .on_conflict_do_nothing(index_elements=[_JOBS.c.key])
            )
        job_id = self.session.execute(statement.returning(_JOBS.c.id)).scalar()
        if job_id is None:
            assert job.key is not None
            existing = self._id_for_key(job.key)
            if existing is None:
                # Taken by a transaction that has since rolled back: the command runs again.
                raise RetryableConflict("a job with this key was being queued; try again")
            return existing
        job.id = job_id
        self._announce(job)
        return int(job_id)

    def get(self, job_id: int) -> Job | None:
        row = self.session.get(m.JobRow, job_id)
        return from_row(Job, row) if row is not None else None

    def by_key(self, key: str) -> Job | None:
        row = self.session.scalar(select(m.JobRow).where(m.JobRow.key == key))
        return from_row(Job, row) if row is not None else None

    def save(self, job: Job) -> None:
        row = self.session.get(m.JobRow, job.id)
        assert row is not None, "save() is for jobs read in this unit of work"
        onto_row(job, row, skip=_QUEUED_AS, updated_at=job.updated_at or row.updated_at)
        self.session.flush()
        self._announce(job)

    def find(self, state: JobState | None, limit: int, after_id: int | None) -> list[Job]:
        stmt = select(m.JobRow).order_by(m.JobRow.id.desc()).limit(limit)
        if state is not None:
            stmt = stmt.where(m.JobRow.state == state.value)
        if after_id is not None:
            stmt = stmt.where(m.JobRow.id < after_id)
        return [from_row(Job, r) for r in self.session.scalars(stmt)]

    def counts(self) -> dict[JobState, int]:
        rows = self.session.execute(
            select(m.JobRow.state, func.count()).group_by(m.JobRow.state)
        ).all()
        found = {JobState(state): int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in JobState}

    def claim(self, worker: str, now: datetime, lease: timedelta, limit: int) -> list[Job]:
        if limit < 1:
            return []
        due = or_(
            and_(m.JobRow.state == JobState.QUEUED.value, m.JobRow.run_at <= now),
            and_(m.JobRow.state == _RUNNING, m.JobRow.locked_until < now),
        )
        # FOR UPDATE SKIP LOCKED on PostgreSQL: the CTE locks the rows it picks (a CTE that
        # locks is computed once), so two claims running at once pick disjoint batches. SQLite
        # renders no lock clause, and there the claim is safe because every writing
        # transaction begins IMMEDIATE (one writer).
        chosen = (
            select(m.JobRow.id)
            .where(due)
            .order_by(m.JobRow.run_at, m.JobRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("chosen")
        )
        rows = self.session.execute(
            update(m.JobRow)
            .where(m.JobRow.id.in_(select(chosen.c.id)))
            .values(
                state=_RUNNING,
                attempts=m.JobRow.attempts + 1,
                locked_by=worker,
                locked_until=now + lease,
                updated_at=now,
            )
            .returning(*m.JobRow.__table__.c)
            .execution_options(synchronize_session=False)
        ).all()
        # RETURNING comes in no particular order: the batch runs oldest due first.
        return sorted((from_row(Job, r) for r in rows), key=lambda j: (j.run_at, j.id or 0))

    def record(self, worker: str, outcomes: Sequence[Outcome], now: datetime) -> set[int]:
        unlocked: dict[str, Any] = {"locked_by": None, "locked_until": None, "updated_at": now}
        done = [o.job_id for o in outcomes if o.state is JobState.DONE]
        released = [o.job_id for o in outcomes if o.released]
        # A batch's finished jobs in one statement, those released by a stopping worker in one
        # more; a failure has its own error and time, and is rare.
        recorded = self._unlock(
            worker, done, state=JobState.DONE.value, finished_at=now, **unlocked
        ) | self._unlock(
            worker,
            released,
            state=JobState.QUEUED.value,
            attempts=m.JobRow.attempts - 1,
            **unlocked,
        )
        for failed in outcomes:
            if failed.state is JobState.DONE or failed.released:
                continue
            ended: dict[str, Any] = (
                {"run_at": failed.run_at}
                if failed.state is JobState.QUEUED
                else {"finished_at": now}
            )
            if failed.error is not None:
                ended["last_error"] = failed.error
            recorded |= self._unlock(
                worker, [failed.job_id], state=failed.state.value, **ended, **unlocked
            )
        return recorded

    def _unlock(self, worker: str, job_ids: list[int], **values: Any) -> set[int]:
        if not job_ids:
            return set()
        return set(
            self.session.scalars(
                update(m.JobRow)
                .where(m.JobRow.id.in_(job_ids), *_held_by(worker))
                .values(**values)
                .returning(m.JobRow.id)
                .execution_options(synchronize_session=False)
            )
        )

    def extend_leases(self, job_ids: Collection[int], worker: str, until: datetime) -> int:
        if not job_ids:
            return 0
        result = self.session.execute(
            update(m.JobRow)
            .where(m.JobRow.id.in_(job_ids), *_held_by(worker))
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def claim_timer(self, name: str, every: timedelta, now: datetime) -> bool:
        if self.session.get(m.JobTimerRow, name) is None:
            # Another worker may register it first; the claim below decides either way.
            insert_or_find(
                self.session,
                m.JobTimerRow(name=name, next_run_at=now),
                lambda: self.session.get(m.JobTimerRow, name),
            )
        result = self.session.execute(
            update(m.JobTimerRow)
            .where(m.JobTimerRow.name == name, m.JobTimerRow.next_run_at <= now)
            .values(next_run_at=now + every, last_run_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _held_by(worker: str) -> tuple[ColumnElement[bool], ...]:
    return (m.JobRow.locked_by == worker, m.JobRow.state == _RUNNING)


def _insert(session: OrmSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both backends' own syntax)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
