"""In-memory repositories and a unit of work for the service tier: a feature's commands run
against these the way they run against the database, in a fraction of the time.

Each fake is typed as the Protocol it stands for (mypy checks this folder, see the
Makefile's `typecheck`), and tests/integration/test_fake_repositories.py runs the same
contract against the fake and the SQL repository, so that the two cannot drift apart.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from caredesk.domain.events import Event
from caredesk.domain.jobs import Job, JobState, Outcome
from caredesk.domain.webhooks import Delivery, Subscription


class _Table:
    """Rows by id, copied in and out as the database would, and rolled back with the unit."""

    def __init__(self) -> None:
        self.rows: dict[int, Any] = {}
        self.next_id = 1
        self._saved: tuple[dict[int, Any], int] | None = None

    def begin(self) -> None:
        self._saved = (copy.deepcopy(self.rows), self.next_id)

    def undo(self) -> None:
        if self._saved is not None:
            self.rows, self.next_id = self._saved

    def insert(self, row: Any) -> int:
        new_id = self.next_id
        self.next_id += 1
        self.rows[new_id] = replace(row, id=new_id)
        return new_id

    def read(self, row_id: int) -> Any:
        found = self.rows.get(row_id)
        return None if found is None else copy.deepcopy(found)


class FakeJobRepository(_Table):
    def __init__(self) -> None:
        super().__init__()
        self.timers: dict[str, datetime] = {}

    def add(self, job: Job) -> int:
        if job.key is not None:
            existing = self._id_for_key(job.key)
            if existing is not None:
                return existing
        job.id = self.insert(replace(job, updated_at=job.updated_at or job.created_at))
        return job.id

    def _id_for_key(self, key: str) -> int | None:
        return next((i for i, j in self.rows.items() if j.key == key), None)

    def get(self, job_id: int) -> Job | None:
        found: Job | None = self.read(job_id)
        return found

    def by_key(self, key: str) -> Job | None:
        found = self._id_for_key(key)
        return None if found is None else self.get(found)

    def save(self, job: Job) -> None:
        assert job.id is not None and job.id in self.rows
        self.rows[job.id] = copy.deepcopy(job)

    def find(self, state: JobState | None, limit: int, after_id: int | None) -> list[Job]:
        ids = sorted(self.rows, reverse=True)
        return [
            copy.deepcopy(self.rows[i])
            for i in ids
            if (state is None or self.rows[i].state is state) and (after_id is None or i < after_id)
        ][:limit]

    def counts(self) -> dict[JobState, int]:
        return {s: sum(1 for j in self.rows.values() if j.state is s) for s in JobState}

    def claim(self, worker: str, now: datetime, lease: timedelta, limit: int) -> list[Job]:
        def due(job: Job) -> bool:
            if job.state is JobState.QUEUED:
                return job.run_at <= now
            return (
                job.state is JobState.RUNNING
                and job.locked_until is not None
                and job.locked_until < now
            )

        claimed = sorted((j for j in self.rows.values() if due(j)), key=lambda j: (j.run_at, j.id))
        for job in claimed[:limit]:
            job.state = JobState.RUNNING
            job.attempts += 1
            job.locked_by = worker
            job.locked_until = now + lease
            job.updated_at = now
        return [copy.deepcopy(j) for j in claimed[:limit]]

    def record(self, worker: str, outcomes: Sequence[Outcome], now: datetime) -> set[int]:
        recorded = set()
        for outcome in outcomes:
            job = self.rows.get(outcome.job_id)
            if job is None or job.locked_by != worker or job.state is not JobState.RUNNING:
                continue
            job.state, job.locked_by, job.locked_until = outcome.state, None, None
            job.updated_at = now
            if outcome.released:
                job.attempts -= 1
            elif outcome.state is JobState.QUEUED:
                assert outcome.run_at is not None
                job.run_at = outcome.run_at
            else:
                job.finished_at = now
            job.last_error = outcome.error or job.last_error
            recorded.add(outcome.job_id)
        return recorded

    def extend_leases(self, job_ids: Collection[int], worker: str, until: datetime) -> int:
        held = [
            job
            for job_id in job_ids
            if (job := self.rows.get(job_id)) is not None
            and job.locked_by == worker
            and job.state is JobState.RUNNING
        ]
        for job in held:
            job.locked_until = until
        return len(held)

    def claim_timer(self, name: str, every: timedelta, now: datetime) -> bool:
        next_run = self.timers.setdefault(name, now)
        if next_run > now:
            return False
        self.timers[name] = now + every
        return True


class FakeWebhookRepository:
    def __init__(self) -> None:
        self.subscriptions_table = _Table()
        self.deliveries_table = _Table()

    def add_subscription(self, subscription: Subscription) -> None:
        subscription.id = self.subscriptions_table.insert(subscription)

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        found: Subscription | None = self.subscriptions_table.read(subscription_id)
        return found

    def save_subscription(self, subscription: Subscription) -> None:
        assert subscription.id is not None
        self.subscriptions_table.rows[subscription.id] = copy.deepcopy(subscription)

    def delete_subscription(self, subscription_id: int) -> None:
        self.subscriptions_table.rows.pop(subscription_id, None)
        rows = self.deliveries_table.rows
        for delivery_id in [i for i, d in rows.items() if d.subscription_id == subscription_id]:
            del rows[delivery_id]

    def subscriptions(self, *, active_only: bool = False) -> list[Subscription]:
        rows = self.subscriptions_table.rows
        return [copy.deepcopy(rows[i]) for i in sorted(rows) if rows[i].active or not active_only]

    def add_delivery(self, delivery: Delivery) -> None:
        delivery.id = self.deliveries_table.insert(delivery)

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        found: Delivery | None = self.deliveries_table.read(delivery_id)
        return found

    def save_delivery(self, delivery: Delivery) -> None:
        assert delivery.id is not None
        self.deliveries_table.rows[delivery.id] = copy.deepcopy(delivery)

    def deliveries(self, subscription_id: int, limit: int, before_id: int | None) -> list[Delivery]:
        rows = self.deliveries_table.rows
        return [
            copy.deepcopy(rows[i])
            for i in sorted(rows, reverse=True)
            if rows[i].subscription_id == subscription_id and (before_id is None or i < before_id)
        ][:limit]


class FakeUnitOfWork:
    """The webhooks' and the job queue's repositories in memory, in one transaction.

    As with the database, what a command wrote is undone unless it commits; the events it
    published are kept in `events` at commit. Follow-on handlers do not run here: which
    handlers an event reaches is the event bus's, tested in tests/unit, and what they do
    together is the integration tier's.
    """

    def __init__(self) -> None:
        self.jobs = FakeJobRepository()
        self.webhooks = FakeWebhookRepository()
        self.events: list[Event] = []
        self.commits = 0
        self._pending: list[Event] = []
        self._committed = False

    def _tables(self) -> list[_Table]:
        return [self.jobs, self.webhooks.subscriptions_table, self.webhooks.deliveries_table]

    def __enter__(self) -> Self:
        self._pending = []
        self._committed = False
        for table in self._tables():
            table.begin()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if not self._committed:
            self.rollback()

    def publish(self, event: Event) -> None:
        self._pending.append(event)

    def collect_new_events(self) -> Iterator[Event]:
        while self._pending:
            yield self._pending.pop(0)

    def commit(self) -> None:
        self.events.extend(self.collect_new_events())
        self.commits += 1
        self._committed = True
        for table in self._tables():
            table.begin()

    def rollback(self) -> None:
        self._pending = []
        for table in self._tables():
            table.undo()


if TYPE_CHECKING:
    from caredesk.services.channels.unit import WebhooksUnit
    from caredesk.services.core.ports import JobRepository
    from caredesk.services.core.unit import JobsUnit

    def _fakes_stand_for_their_protocols(uow: FakeUnitOfWork) -> None:
        _webhooks: WebhooksUnit = uow
        _jobs: JobsUnit = uow
        _job_repository: JobRepository = uow.jobs
