"""The durable job queue: enqueue inside a change's transaction, run with retries elsewhere.

A job row is written in the unit of work of the change that causes it (an outbox), so it
commits or rolls back with that change. Workers claim due jobs, run the handler registered
for the job's kind, and record the outcome: done, again later (exponential backoff), or
dead (a dead letter an admin can look at and retry). A worker that dies holding a job
leaves a lease that expires, after which another worker claims the job again; handlers
must therefore be idempotent. Timers are periodic functions, claimed by one worker per
period through a row of their own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import ValidationFailed, must_exist
from caredesk.domain.jobs import Job, JobState, backoff
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.ports import Clock
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

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self.handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self.handlers[kind] = handler

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


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


class Worker:
    """Runs due timers and jobs, one job per transaction pair (claim, then outcome)."""

    def __init__(
        self,
        ctx: JobContext,
        registry: HandlerRegistry,
        *,
        name: str,
        options: WorkerOptions | None = None,
    ) -> None:
        self.ctx = ctx
        self.registry = registry
        self.name = name
        self.options = options or WorkerOptions()

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

    def run_one(self) -> Job | None:
        """Claim one due job and run it; None when nothing is due."""
        now = self.ctx.clock.now()
        with self.ctx.uow() as uow:
            claimed = uow.jobs.claim(self.name, now, self.options.lease, 1)
            uow.commit()
        if not claimed:
            return None
        job = claimed[0]
        if job.attempts > self.options.max_attempts:
            # Its workers kept dying (a lease expired each time): running it again is futile.
            self._finish(job, JobState.DEAD, "gave up: the lease expired on every attempt")
            return job
        handler = self.registry.handlers.get(job.kind)
        if handler is None:
            self._finish(job, JobState.DEAD, f"no handler registered for kind {job.kind!r}")
            return job
        # While the handler runs, keep the lease alive, so a slow job is not taken by another
        # worker; only a worker that died (and stopped renewing) lets its lease run out.
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew_lease, args=(job, done), name=f"{self.name}-lease", daemon=True
        )
        renewer.start()
        try:
            handler(self.ctx, job.payload)
        except PermanentFailure as exc:
            self._finish(job, JobState.DEAD, _describe(exc))
        except Exception as exc:  # TemporaryFailure, or any fault the handler did not expect
            if not isinstance(exc, TemporaryFailure):
                log.exception("job %s (%s) failed", job.id, job.kind)
            if job.attempts >= self.options.max_attempts:
                self._finish(job, JobState.DEAD, _describe(exc))
            else:
                delay = backoff(job.attempts, self.options.backoff_base, self.options.backoff_cap)
                self._finish(job, JobState.QUEUED, _describe(exc), delay=delay)
        else:
            self._finish(job, JobState.DONE, None)
        finally:
            done.set()
            renewer.join()
        return job

    def _renew_lease(self, job: Job, done: threading.Event) -> None:
        assert job.id is not None
        while not done.wait(self.options.lease.total_seconds() / 3):
            try:
                with self.ctx.uow() as uow:
                    held = uow.jobs.extend_lease(
                        job.id, self.name, self.ctx.clock.now() + self.options.lease
                    )
                    uow.commit()
            except Exception:  # a missed renewal is retried; the lease has slack for it
                log.exception("renewing the lease of job %s failed", job.id)
                continue
            if not held:
                return

    def run_once(self, max_jobs: int | None = None) -> int:
        """Run due timers, then due jobs until none is left (or `max_jobs`); return jobs run."""
        self.run_timers()
        done = 0
        while max_jobs is None or done < max_jobs:
            if self.run_one() is None:
                break
            done += 1
        return done

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set, sleeping `poll_seconds` whenever nothing is due."""
        while not stop.is_set():
            try:
                ran = self.run_once(max_jobs=100)
            except Exception:  # a lost database connection and the like: wait and go on
                log.exception("worker %s pass failed", self.name)
                ran = 0
            if ran == 0:
                stop.wait(self.options.poll_seconds)

    def _finish(
        self,
        job: Job,
        state: JobState,
        error: str | None,
        *,
        delay: timedelta | None = None,
    ) -> None:
        now = self.ctx.clock.now()
        with self.ctx.uow() as uow:
            current = uow.jobs.get(job.id) if job.id is not None else None
            if (
                current is None
                or current.locked_by != self.name
                or current.state != JobState.RUNNING
            ):
                # The lease ran out and another worker holds the job now: its outcome counts.
                log.warning("job %s was taken over by %s", job.id, current and current.locked_by)
                return
            current.state = state
            current.last_error = error[:MAX_ERROR_LENGTH] if error else current.last_error
            current.locked_by = None
            current.locked_until = None
            current.updated_at = now
            if state == JobState.QUEUED:
                current.run_at = now + (delay or timedelta(0))
            else:
                current.finished_at = now
            uow.jobs.save(current)
            uow.commit()
        job.state = state


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WorkerPool:
    """N worker threads in this process (the CLI worker, or the one inside `caredesk serve`)."""

    def __init__(
        self,
        ctx: JobContext,
        registry: HandlerRegistry,
        concurrency: int = 1,
        options: WorkerOptions | None = None,
    ) -> None:
        self.stop_event = threading.Event()
        self.workers = [
            Worker(ctx, registry, name=worker_name(i), options=options)
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
