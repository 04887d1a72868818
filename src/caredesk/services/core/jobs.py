"""The durable job queue: enqueue inside a change's transaction, run with retries elsewhere.

A job row is written in the unit of work of the change that causes it (an outbox), so it
commits or rolls back with that change. Workers claim due jobs in batches, run the handler
registered for each job's kind, and record the outcomes with the claim of the next batch:
done, again later (exponential backoff), or dead (a dead letter an admin can look at and
retry). A worker that dies holding jobs (not started, running, or finished but not yet
recorded) leaves leases that expire, after which other workers claim the jobs again; handlers
must therefore be idempotent. Timers are periodic functions, claimed by one worker per
period through a row of their own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import ValidationFailed, must_exist
from caredesk.domain.jobs import Job, JobState, Outcome, backoff
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.ports import Clock, JobWakeups
from caredesk.services.core.reads import read
from caredesk.services.core.unit import JobsUnit
from caredesk.services.privacy.ports import StorageCompactor
from caredesk.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("caredesk.jobs")

MAX_KIND_LENGTH = 100
MAX_KEY_LENGTH = 200
MAX_ERROR_LENGTH = 2000


class TemporaryFailure(Exception):
    """The handler could not finish now (a timeout, a 503): try again after a backoff."""


class PermanentFailure(Exception):
    """Trying again cannot help (bad payload, a 4xx): the job becomes a dead letter at once."""


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler gets: its own units of work and the clock. What a handler needs of the
    settings is bound when bootstrap registers it."""

    uow: UnitOfWorkFactory
    clock: Clock
    # Compacts the database files after data was erased (retention); none in some tests.
    storage: StorageCompactor | None = None


Handler = Callable[[JobContext, dict[str, Any]], None]
# Called once with the payloads of a claimed batch's jobs of one kind, before they run one by
# one: where one call does the work of many (a model's forward pass over all their texts) and
# leaves it for the handlers. The handlers still decide each job's outcome, and must not
# depend on it: a job may run without it (a failed prepare, a lone retry).
BatchPrepare = Callable[[JobContext, list[dict[str, Any]]], None]
TimerFn = Callable[[JobContext], None]


@dataclass(frozen=True, slots=True)
class Timer:
    name: str
    every: timedelta
    fn: TimerFn


@dataclass(slots=True)
class HandlerRegistry:
    """The handlers by job kind and the timers a worker runs; built once by `wire_jobs`."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    timers: dict[str, Timer] = field(default_factory=dict)
    prepares: dict[str, BatchPrepare] = field(default_factory=dict)

    def register(self, kind: str, handler: Handler, *, prepare: BatchPrepare | None = None) -> None:
        if kind in self.handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self.handlers[kind] = handler
        if prepare is not None:
            self.prepares[kind] = prepare

    def register_timer(self, name: str, every: timedelta, fn: TimerFn) -> None:
        if name in self.timers:
            raise ValueError(f"a timer named {name!r} is already registered")
        if every <= timedelta(0):
            raise ValueError("a timer's period must be positive")
        self.timers[name] = Timer(name, every, fn)


def enqueue(
    uow: JobsUnit,
    kind: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    run_at: datetime | None = None,
    key: str | None = None,
) -> int:
    """Write a job in the caller's open unit of work; the caller commits it with its change.

    With `key`, a second enqueue of the same key is a no-op that returns the first job's id.
    """
    if not kind or len(kind) > MAX_KIND_LENGTH:
        raise ValidationFailed(f"a job kind has 1 to {MAX_KIND_LENGTH} characters")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed(f"a job key has 1 to {MAX_KEY_LENGTH} characters")
    job = Job(
        id=None,
        kind=kind,
        payload=payload,
        state=JobState.QUEUED,
        run_at=run_at or now,
        created_at=now,
        key=key,
        updated_at=now,
    )
    return uow.jobs.add(job)


def list_jobs(
    uow: JobsUnit,
    actor: Actor,
    *,
    state: JobState | None = None,
    limit: int = 50,
    after_id: int | None = None,
) -> list[Job]:
    return read(uow, actor, Permission.MANAGE_JOBS, lambda u: u.jobs.find(state, limit, after_id))


def job_counts(uow: JobsUnit, actor: Actor) -> dict[JobState, int]:
    return read(uow, actor, Permission.MANAGE_JOBS, lambda u: u.jobs.counts())


@command
def retry_job(uow: JobsUnit, actor: Actor, now: datetime, job_id: int) -> Job:
    """Queue a dead (or done) job again, now, with a fresh count of attempts."""
    actor.require(Permission.MANAGE_JOBS)
    with uow:
        job = must_exist(uow.jobs.get(job_id), "job", job_id)
        before = {"state": job.state.value, "attempts": job.attempts}
        job.retry_now(now)
        job.updated_at = now
        uow.jobs.save(job)
        publish_change(
            uow,
            actor,
            now,
            "job.retried",
            "job",
            job_id,
            before=before,
            after={"state": job.state.value, "attempts": job.attempts},
        )
        uow.commit()
        return job


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How workers hold, retry and wait for jobs; bootstrap binds them from the settings (the
    defaults are the settings' defaults)."""

    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=10)
    backoff_cap: timedelta = timedelta(hours=1)
    poll_seconds: float = 1.0
    batch_size: int = 10


# A running worker looks at its timers again after this many jobs, however many are due.
JOBS_PER_PASS = 100


@dataclass(frozen=True, slots=True)
class Polling:
    """Looks again every `seconds`: how a worker waits where the database sends no word."""

    seconds: float

    def wait(self, stop: threading.Event) -> bool:
        stop.wait(self.seconds)
        return False

    def close(self) -> None:
        return None


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


class Worker:
    """Runs due timers and jobs. Jobs are claimed in batches and run one after another (after
    the batch hooks of their kinds); how each run ended is recorded with the claim of the next
    batch, in one transaction, so a batch costs the worker one transaction of its own beside
    its handlers'."""

    def __init__(
        self,
        ctx: JobContext,
        registry: HandlerRegistry,
        *,
        name: str,
        options: WorkerOptions | None = None,
        wakeups: JobWakeups | None = None,
    ) -> None:
        self.ctx = ctx
        self.registry = registry
        self.name = name
        self.options = options or WorkerOptions()
        self.wakeups = wakeups or Polling(self.options.poll_seconds)
        # Runs that ended and are not recorded yet. Their jobs stay running under this worker's
        # lease: should it die before recording them, they are run again after the lease.
        self._unrecorded: list[Outcome] = []

    def run_timers(self) -> int:
        ran = 0
        for timer in self.registry.timers.values():
            with self.ctx.uow() as uow:
                won = uow.jobs.claim_timer(timer.name, timer.every, self.ctx.clock.now())
                uow.commit()
            if not won:
                continue
            ran += 1
            try:
                timer.fn(self.ctx)
            except Exception:  # the next period runs it again; one failure must not stop others
                log.exception("timer %s failed", timer.name)
        return ran

    def run_batch(self, limit: int | None = None, stop: threading.Event | None = None) -> int:
        """Record the outcomes in hand and claim up to `limit` due jobs (the batch size) in one
        transaction, then run them; return how many ran (0: none was due).

        Once `stop` is set, the jobs of the batch not yet started are released to others.
        """
        batch = self._record_and_claim(limit or self.options.batch_size)
        ran = 0
        with self._leases_kept([job.id for job in batch if job.id is not None]):
            self._prepare(batch, stop)
            for job in batch:
                assert job.id is not None
                if stop is not None and stop.is_set():
                    self._unrecorded.append(Outcome.release(job.id))
                    continue
                self._unrecorded.append(self._run(job))
                ran += 1
        return ran

    def _prepare(self, batch: list[Job], stop: threading.Event | None) -> None:
        """Give each kind's batch hook the payloads of its jobs in this batch, in order."""
        payloads: dict[str, list[dict[str, Any]]] = {}
        for job in batch:
            if job.kind in self.registry.prepares and job.attempts <= self.options.max_attempts:
                payloads.setdefault(job.kind, []).append(job.payload)
        for kind, kind_payloads in payloads.items():
            if stop is not None and stop.is_set():
                return
            try:
                self.registry.prepares[kind](self.ctx, kind_payloads)
            except Exception:  # the handlers do the work one job at a time instead
                log.exception("preparing a batch of %d %s jobs failed", len(kind_payloads), kind)

    def record(self) -> None:
        """Write the outcomes in hand now, without claiming more (a pass or a worker ends)."""
        if self._unrecorded:
            self._record_and_claim(0)

    def _record_and_claim(self, limit: int) -> list[Job]:
        now = self.ctx.clock.now()
        with self.ctx.uow() as uow:
            recorded = uow.jobs.record(self.name, self._unrecorded, now)
            claimed = uow.jobs.claim(self.name, now, self.options.lease, limit)
            uow.commit()
        for outcome in self._unrecorded:
            if outcome.job_id not in recorded:
                # The lease ran out and another worker holds the job now: its outcome counts.
                log.warning("job %s was taken over by another worker", outcome.job_id)
        self._unrecorded = []
        return claimed

    def _run(self, job: Job) -> Outcome:
        assert job.id is not None
        if job.attempts > self.options.max_attempts:
            # Its workers kept dying (a lease expired each time): running it again is futile.
            return Outcome.dead(job.id, "gave up: the lease expired on every attempt")
        handler = self.registry.handlers.get(job.kind)
        if handler is None:
            return Outcome.dead(job.id, f"no handler registered for kind {job.kind!r}")
        try:
            handler(self.ctx, job.payload)
        except PermanentFailure as exc:
            return Outcome.dead(job.id, _describe(exc))
        except Exception as exc:  # TemporaryFailure, or any fault the handler did not expect
            if not isinstance(exc, TemporaryFailure):
                log.exception("job %s (%s) failed", job.id, job.kind)
            if job.attempts >= self.options.max_attempts:
                return Outcome.dead(job.id, _describe(exc))
            delay = backoff(job.attempts, self.options.backoff_base, self.options.backoff_cap)
            return Outcome.again(job.id, self.ctx.clock.now() + delay, _describe(exc))
        return Outcome.done(job.id)

    @contextmanager
    def _leases_kept(self, job_ids: list[int]) -> Iterator[None]:
        """While a batch runs, keep its leases alive, so that a slow batch is not taken by
        another worker; only a worker that died (and stopped renewing) lets them run out."""
        if not job_ids:
            yield
            return
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew_leases, args=(job_ids, done), name=f"{self.name}-lease", daemon=True
        )
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def _renew_leases(self, job_ids: list[int], done: threading.Event) -> None:
        while not done.wait(self.options.lease.total_seconds() / 3):
            try:
                with self.ctx.uow() as uow:
                    held = uow.jobs.extend_leases(
                        job_ids, self.name, self.ctx.clock.now() + self.options.lease
                    )
                    uow.commit()
            except Exception:  # a missed renewal is retried; the lease has slack for it
                log.exception("renewing the leases of jobs %s failed", job_ids)
                continue
            if not held:
                return

    def run_once(self, max_jobs: int | None = None) -> int:
        """Run due timers, then due jobs until none is left (or `max_jobs`), and record every
        outcome; return the jobs run."""
        ran = self._pass(max_jobs)
        self.record()
        return ran

    def _pass(self, max_jobs: int | None, stop: threading.Event | None = None) -> int:
        # Timers may run long: the outcomes in hand are recorded first, not left unrenewed.
        self.record()
        self.run_timers()
        ran = 0
        while max_jobs is None or ran < max_jobs:
            if stop is not None and stop.is_set():
                break
            limit = self.options.batch_size
            if max_jobs is not None:
                limit = min(limit, max_jobs - ran)
            in_batch = self.run_batch(limit, stop)
            if in_batch == 0:
                break
            ran += in_batch
        return ran

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set. When nothing is due, wait for word of new jobs (PostgreSQL
        notifies on enqueue) or for the poll interval (jobs due later, retries, timers)."""
        try:
            while not stop.is_set():
                try:
                    ran = self._pass(JOBS_PER_PASS, stop)
                except Exception:  # a lost database connection and the like: wait and go on
                    log.exception("worker %s pass failed", self.name)
                    ran = 0
                if ran == 0 and not stop.is_set():
                    self.wakeups.wait(stop)
        finally:
            try:
                self.record()
            except Exception:  # what is left unrecorded runs again after its lease
                log.exception("worker %s could not record its last outcomes", self.name)
            self.wakeups.close()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return described[:MAX_ERROR_LENGTH]


class WorkerPool:
    """N worker threads in this process (the CLI worker, or the one inside `caredesk serve`)."""

    def __init__(
        self,
        ctx: JobContext,
        registry: HandlerRegistry,
        concurrency: int = 1,
        options: WorkerOptions | None = None,
        wakeups: Callable[[], JobWakeups] | None = None,
    ) -> None:
        self.stop_event = threading.Event()
        # Each worker waits on wake-ups of its own (a listening connection on PostgreSQL).
        self.workers = [
            Worker(
                ctx,
                registry,
                name=worker_name(i),
                options=options,
                wakeups=wakeups() if wakeups is not None else None,
            )
            for i in range(max(concurrency, 1))
        ]
        self.threads = [
            threading.Thread(
                target=w.run, args=(self.stop_event,), name=f"caredesk-worker-{i}", daemon=True
            )
            for i, w in enumerate(self.workers)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 30) -> None:
        self.stop_event.set()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout=timeout)

    def join(self) -> None:
        for thread in self.threads:
            while thread.is_alive():
                thread.join(timeout=1)
