"""The job queue's commands and its worker, on the in-memory job table."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import pytest

from caredesk.domain.agents import Actor, Role
from caredesk.domain.errors import DomainError, ErrorCode, Forbidden, NotFound, ValidationFailed
from caredesk.domain.events import Changed
from caredesk.domain.jobs import JobState
from caredesk.services.core import jobs
from caredesk.services.unit_of_work import UnitOfWorkFactory
from tests.conftest import ManualClock
from tests.service.fakes import FakeUnitOfWork

ADMIN = Actor(role=Role.ADMIN, agent_id=1)
LEAD = Actor(role=Role.LEAD, agent_id=2)
OPTIONS = jobs.WorkerOptions(
    lease=timedelta(minutes=5),
    max_attempts=3,
    backoff_base=timedelta(seconds=10),
    backoff_cap=timedelta(minutes=1),
)


def queue(
    uow: FakeUnitOfWork,
    clock: ManualClock,
    kind: str = "ping",
    payload: dict[str, Any] | None = None,
    **extra: Any,
) -> int:
    with uow:
        job_id = jobs.enqueue(uow, kind, payload or {"n": 1}, now=clock.now(), **extra)
        uow.commit()
    return job_id


def worker(
    uow: FakeUnitOfWork, clock: ManualClock, registry: jobs.HandlerRegistry, name: str = "w1"
) -> jobs.Worker:
    # The worker's own transactions reach only the job table; the handlers it runs get the
    # whole factory from the context, which these handlers do not use.
    context = jobs.JobContext(uow=cast(UnitOfWorkFactory, lambda: uow), clock=clock)
    return jobs.Worker(context, registry, name=name, options=OPTIONS)


def test_a_job_with_a_key_is_queued_once(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    first = queue(uow, clock, key="survey:7")
    again = queue(uow, clock, key="survey:7")
    other = queue(uow, clock, key="survey:8")
    assert first == again != other
    assert jobs.job_counts(uow, ADMIN)[JobState.QUEUED] == 2


@pytest.mark.parametrize(
    "fields", [{"kind": ""}, {"kind": "x" * 200}, {"key": ""}, {"key": "k" * 1000}]
)
def test_a_job_needs_a_kind_and_a_sensible_key(
    uow: FakeUnitOfWork, clock: ManualClock, fields: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed):
        queue(uow, clock, **fields)
    assert jobs.job_counts(uow, ADMIN)[JobState.QUEUED] == 0


def test_only_who_manages_jobs_sees_or_retries_them(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    job_id = queue(uow, clock)
    with pytest.raises(Forbidden):
        jobs.list_jobs(uow, LEAD)
    with pytest.raises(Forbidden):
        jobs.retry_job(uow, LEAD, clock.now(), job_id)
    assert [j.id for j in jobs.list_jobs(uow, ADMIN)] == [job_id]


def test_a_job_runs_once_and_is_done(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    ran: list[dict[str, Any]] = []
    registry = jobs.HandlerRegistry()
    registry.register("ping", lambda ctx, payload: ran.append(payload))
    job_id = queue(uow, clock)

    assert worker(uow, clock, registry).run_once() == 1
    assert worker(uow, clock, registry).run_once() == 0

    done = uow.jobs.get(job_id)
    assert ran == [{"n": 1}] and done is not None
    assert done.state is JobState.DONE and done.finished_at == clock.now()


def test_a_failing_job_backs_off_then_dies_after_its_attempts(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    registry = jobs.HandlerRegistry()

    def fail(ctx: jobs.JobContext, payload: dict[str, Any]) -> None:
        raise jobs.TemporaryFailure("receiver busy")

    registry.register("ping", fail)
    job_id = queue(uow, clock)
    runner = worker(uow, clock, registry)

    waits = []
    for _ in range(OPTIONS.max_attempts):
        assert runner.run_once() == 1
        job = uow.jobs.get(job_id)
        assert job is not None
        waits.append(job.run_at - clock.now())
        assert runner.run_once() == 0  # not due before its backoff
        clock.advance(minutes=1)

    dead = uow.jobs.get(job_id)
    assert dead is not None and dead.state is JobState.DEAD
    assert dead.last_error == "TemporaryFailure: receiver busy"
    assert waits[:2] == [timedelta(seconds=10), timedelta(seconds=20)]


def test_a_permanent_failure_is_dead_at_once_and_an_admin_retries_it(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    registry = jobs.HandlerRegistry()

    def refuse(ctx: jobs.JobContext, payload: dict[str, Any]) -> None:
        raise jobs.PermanentFailure("the receiver answered 410")

    registry.register("ping", refuse)
    job_id = queue(uow, clock)
    worker(uow, clock, registry).run_once()
    dead = uow.jobs.get(job_id)
    assert dead is not None and dead.state is JobState.DEAD and dead.attempts == 1

    again = jobs.retry_job(uow, ADMIN, clock.now(), job_id)

    assert again.state is JobState.QUEUED and again.attempts == 0
    event = uow.events[-1]
    assert isinstance(event, Changed) and event.action == "job.retried"
    assert event.before == {"state": "dead", "attempts": 1}


def test_a_queued_job_cannot_be_retried_and_an_unknown_one_is_not_found(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    job_id = queue(uow, clock)
    with pytest.raises(DomainError) as refused:
        jobs.retry_job(uow, ADMIN, clock.now(), job_id)
    assert refused.value.code is ErrorCode.JOB_STATE
    with pytest.raises(NotFound):
        jobs.retry_job(uow, ADMIN, clock.now(), job_id + 100)


def test_a_job_without_a_handler_is_dead_with_the_reason(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    job_id = queue(uow, clock, kind="unheard-of")
    worker(uow, clock, jobs.HandlerRegistry()).run_once()
    dead = uow.jobs.get(job_id)
    assert dead is not None and dead.state is JobState.DEAD
    assert dead.last_error == "no handler registered for kind 'unheard-of'"


def test_a_job_whose_worker_died_is_taken_over_after_its_lease(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    job_id = queue(uow, clock)
    with uow:
        [held] = uow.jobs.claim("dead-worker", clock.now(), OPTIONS.lease, 1)
        uow.commit()
    ran: list[int] = []
    registry = jobs.HandlerRegistry()
    registry.register("ping", lambda ctx, payload: ran.append(1))
    survivor = worker(uow, clock, registry, name="w2")

    assert survivor.run_once() == 0  # the lease still holds
    clock.advance(minutes=6)
    assert survivor.run_once() == 1

    done = uow.jobs.get(job_id)
    assert ran == [1] and held.id == job_id
    assert done is not None and done.state is JobState.DONE and done.attempts == 2


def test_a_timer_runs_once_per_period(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    ticks: list[int] = []
    registry = jobs.HandlerRegistry()
    registry.register_timer("tick", timedelta(minutes=1), lambda ctx: ticks.append(1))
    first, second = worker(uow, clock, registry), worker(uow, clock, registry, name="w2")

    assert first.run_timers() == 1 and second.run_timers() == 0
    clock.advance(seconds=61)
    assert second.run_timers() == 1 and first.run_timers() == 0
    assert ticks == [1, 1]


def batch_worker(
    uow: FakeUnitOfWork, clock: ManualClock, registry: jobs.HandlerRegistry, name: str = "w1"
) -> jobs.Worker:
    context = jobs.JobContext(uow=cast(UnitOfWorkFactory, lambda: uow), clock=clock)
    return jobs.Worker(context, registry, name=name, options=replace(OPTIONS, batch_size=2))


def states(uow: FakeUnitOfWork, *job_ids: int) -> list[tuple[JobState, int]]:
    found = [uow.jobs.get(job_id) for job_id in job_ids]
    return [(job.state, job.attempts) for job in found if job is not None]


def test_a_batch_s_outcomes_travel_with_the_next_claim(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    ran: list[int] = []
    registry = jobs.HandlerRegistry()
    registry.register("ping", lambda ctx, payload: ran.append(1))
    first, second, third = (queue(uow, clock) for _ in range(3))
    runner = batch_worker(uow, clock, registry)
    commits = uow.commits

    assert runner.run_batch() == 2
    # Run, not yet recorded: the two stay held under the worker's lease.
    assert states(uow, first, second, third) == [(JobState.RUNNING, 1)] * 2 + [(JobState.QUEUED, 0)]
    assert runner.run_batch() == 1
    assert states(uow, first, second) == [(JobState.DONE, 1)] * 2
    assert runner.run_batch() == 0
    assert states(uow, third) == [(JobState.DONE, 1)]
    # One transaction per batch, the last finding nothing due and recording the third.
    assert (uow.commits - commits, len(ran)) == (3, 3)


def test_jobs_run_but_unrecorded_when_their_worker_dies_run_again_after_the_lease(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    ran: list[str] = []
    registry = jobs.HandlerRegistry()
    registry.register("ping", lambda ctx, payload: ran.append(payload["name"]))
    job_ids = [queue(uow, clock, payload={"name": name}) for name in "abc"]
    dying = batch_worker(uow, clock, registry, name="dying")
    assert dying.run_batch() == 2
    assert dying.run_batch() == 1  # a and b recorded done with this claim; c ran, unrecorded
    del dying  # killed before its next claim

    survivor = batch_worker(uow, clock, registry, name="survivor")
    assert survivor.run_once() == 0  # c's lease still holds
    clock.advance(minutes=6)
    assert survivor.run_once() == 1

    assert ran == ["a", "b", "c", "c"]
    assert states(uow, *job_ids) == [(JobState.DONE, 1)] * 2 + [(JobState.DONE, 2)]


def test_a_stopping_worker_releases_the_jobs_it_has_not_started(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    stop = threading.Event()
    registry = jobs.HandlerRegistry()
    registry.register("ping", lambda ctx, payload: stop.set())
    started, waiting = queue(uow, clock), queue(uow, clock)
    runner = batch_worker(uow, clock, registry)

    assert runner.run_batch(stop=stop) == 1
    runner.record()

    assert states(uow, started, waiting) == [(JobState.DONE, 1), (JobState.QUEUED, 0)]
    released = uow.jobs.get(waiting)
    assert released is not None and released.locked_by is None
    assert released.run_at == clock.now()


def test_a_batch_hook_sees_the_batch_s_payloads_of_its_kind_once_before_they_run(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    events: list[tuple[str, Any]] = []
    registry = jobs.HandlerRegistry()
    registry.register(
        "read",
        lambda ctx, payload: events.append(("run", payload["n"])),
        prepare=lambda ctx, payloads: events.append(("prepare", [p["n"] for p in payloads])),
    )
    registry.register("ping", lambda ctx, payload: events.append(("ping", payload["n"])))
    for n in (1, 2):
        queue(uow, clock, "read", {"n": n})
    queue(uow, clock, "ping", {"n": 3})
    queue(uow, clock, "read", {"n": 4})
    runner = worker(uow, clock, registry)

    assert runner.run_once() == 4

    assert events == [("prepare", [1, 2, 4]), ("run", 1), ("run", 2), ("ping", 3), ("run", 4)]


def test_each_job_of_a_prepared_batch_keeps_its_own_outcome(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    def fail_two(ctx: jobs.JobContext, payload: dict[str, Any]) -> None:
        if payload["n"] == 2:
            raise jobs.TemporaryFailure("not now")

    registry = jobs.HandlerRegistry()
    registry.register("read", fail_two, prepare=lambda ctx, payloads: None)
    job_ids = [queue(uow, clock, "read", {"n": n}) for n in (1, 2, 3)]

    worker(uow, clock, registry).run_once()

    assert states(uow, *job_ids) == [(JobState.DONE, 1), (JobState.QUEUED, 1), (JobState.DONE, 1)]


def test_a_failing_batch_hook_leaves_the_jobs_to_their_handlers(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    ran: list[int] = []

    def broken(ctx: jobs.JobContext, payloads: list[dict[str, Any]]) -> None:
        raise RuntimeError("the model is away")

    registry = jobs.HandlerRegistry()
    registry.register("read", lambda ctx, payload: ran.append(payload["n"]), prepare=broken)
    job_ids = [queue(uow, clock, "read", {"n": n}) for n in (1, 2)]

    assert worker(uow, clock, registry).run_once() == 2

    assert ran == [1, 2]
    assert states(uow, *job_ids) == [(JobState.DONE, 1)] * 2
