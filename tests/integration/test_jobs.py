"""The durable job queue on a real database: outbox, claims, retries, leases, timers, API."""

from __future__ import annotations

import signal
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.jobs import JobState, backoff
from caredesk.services.core import jobs
from caredesk.services.core.jobs import (
    HandlerRegistry,
    JobContext,
    PermanentFailure,
    TemporaryFailure,
    Worker,
    WorkerOptions,
)
from tests.conftest import ManualClock
from tests.integration import job_probe
from tests.integration.job_workers import (
    WORKER_COMMAND,
    queue_job,
    stored_job,
    wait_for,
    worker_env,
)
from tests.integration.statements import statements_sent

OPTIONS = WorkerOptions(
    lease=timedelta(minutes=1),
    max_attempts=3,
    backoff_base=timedelta(seconds=10),
    backoff_cap=timedelta(minutes=5),
    poll_seconds=0.01,
)


def _worker(container: Container, registry: HandlerRegistry, name: str = "w1") -> Worker:
    return Worker(container.job_context(), registry, name=name, options=OPTIONS)


def test_enqueue_commits_or_rolls_back_with_the_change(container: Container) -> None:
    with container.uow() as uow:
        jobs.enqueue(uow, "mail.send", {"to": "a@example.com"}, now=container.clock.now())
        # no commit: the change that caused the job did not happen, so neither did the job
    with container.uow() as uow:
        assert uow.jobs.find(None, 10, None) == []
    job_id = queue_job(container, "mail.send", {"to": "a@example.com"})
    assert stored_job(container, job_id).state == JobState.QUEUED


def test_a_key_makes_enqueue_idempotent(container: Container) -> None:
    first = queue_job(container, "mail.send", {"n": 1}, key="case-1-ack")
    second = queue_job(container, "mail.send", {"n": 2}, key="case-1-ack")
    assert first == second
    assert stored_job(container, first).payload == {"n": 1}
    with container.uow() as uow:
        # and within one unit of work too
        a = jobs.enqueue(uow, "x", {}, now=container.clock.now(), key="k2")
        b = jobs.enqueue(uow, "x", {}, now=container.clock.now(), key="k2")
        uow.commit()
    assert a == b


def test_a_job_is_queued_with_one_statement_and_a_repeated_key_with_two(
    container: Container,
) -> None:
    """The outbox is written with every change (a new case queues its webhooks): the insert
    takes the key or nothing, and only a key already taken is read back."""
    now = container.clock.now()
    with container.uow() as uow:
        # The transaction's BEGIN (and PostgreSQL's one wake-up of the workers), not the job's.
        jobs.enqueue(uow, "warm", {}, now=now)
        with statements_sent(container.engine) as plain:
            jobs.enqueue(uow, "x", {}, now=now)
        with statements_sent(container.engine) as keyed:
            first = jobs.enqueue(uow, "x", {}, now=now, key="k")
        with statements_sent(container.engine) as repeated:
            again = jobs.enqueue(uow, "x", {"other": 1}, now=now, key="k")
        uow.commit()
    assert first == again
    assert stored_job(container, first).payload == {}
    assert [len(plain), len(keyed), len(repeated)] == [1, 1, 2], (plain, keyed, repeated)


@pytest.mark.postgres_only
def test_a_key_being_queued_by_another_transaction_is_waited_for_and_found(
    container: Container,
) -> None:
    now = container.clock.now()
    with container.uow() as holder:
        held = jobs.enqueue(holder, "x", {"n": 1}, now=now, key="raced")
        found: list[int] = []
        racer = threading.Thread(
            target=lambda: found.append(queue_job(container, "x", {}, key="raced"))
        )
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second insert waits for the first transaction"
        holder.commit()
    racer.join(timeout=30)
    assert found == [held]
    assert stored_job(container, held).payload == {"n": 1}


def test_a_job_runs_once_and_is_done(container: Container) -> None:
    seen: list[dict[str, Any]] = []
    registry = HandlerRegistry()
    registry.register("echo", lambda ctx, payload: seen.append(payload))
    job_id = queue_job(container, "echo", {"hello": "world"})
    assert _worker(container, registry).run_once() == 1
    assert _worker(container, registry).run_once() == 0
    assert seen == [{"hello": "world"}]
    job = stored_job(container, job_id)
    assert (job.state, job.attempts, job.locked_by) == (JobState.DONE, 1, None)
    assert job.finished_at == container.clock.now()


def test_future_jobs_wait_for_their_time(container: Container, clock: ManualClock) -> None:
    seen: list[int] = []
    registry = HandlerRegistry()
    registry.register("later", lambda ctx, payload: seen.append(1))
    queue_job(container, "later", {}, run_at=clock.now() + timedelta(minutes=5))
    assert _worker(container, registry).run_once() == 0
    clock.advance(minutes=5)
    assert _worker(container, registry).run_once() == 1
    assert seen == [1]


def test_temporary_failures_back_off_then_dead_letter(
    container: Container, clock: ManualClock
) -> None:
    calls: list[int] = []

    def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        calls.append(1)
        raise TemporaryFailure("receiver answered 503")

    registry = HandlerRegistry()
    registry.register("flaky", flaky)
    job_id = queue_job(container, "flaky", {})
    worker = _worker(container, registry)
    start = clock.now()
    worker.run_once()
    job = stored_job(container, job_id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 1)
    assert job.run_at == start + timedelta(seconds=10)
    assert job.last_error == "TemporaryFailure: receiver answered 503"
    assert worker.run_once() == 0  # not due yet
    clock.advance(seconds=10)
    worker.run_once()
    assert stored_job(container, job_id).run_at == clock.now() + timedelta(seconds=20)
    clock.advance(seconds=20)
    worker.run_once()
    job = stored_job(container, job_id)
    assert (job.state, job.attempts, len(calls)) == (JobState.DEAD, 3, 3)


def test_an_unexpected_error_is_retried_and_a_permanent_one_is_not(
    container: Container,
) -> None:
    def broken(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise KeyError("missing")

    def refused(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise PermanentFailure("receiver answered 410 Gone")

    registry = HandlerRegistry()
    registry.register("broken", broken)
    registry.register("refused", refused)
    broken_id = queue_job(container, "broken", {})
    refused_id = queue_job(container, "refused", {})
    unknown_id = queue_job(container, "nobody.handles.this", {})
    _worker(container, registry).run_once()
    assert stored_job(container, broken_id).state == JobState.QUEUED
    refused_job = stored_job(container, refused_id)
    assert (refused_job.state, refused_job.attempts) == (JobState.DEAD, 1)
    assert refused_job.last_error == "PermanentFailure: receiver answered 410 Gone"
    unknown = stored_job(container, unknown_id)
    assert unknown.state == JobState.DEAD
    assert "no handler" in (unknown.last_error or "")


def test_a_lease_that_expired_lets_another_worker_take_the_job(
    container: Container, clock: ManualClock
) -> None:
    job_id = queue_job(container, "echo", {})
    with container.uow() as uow:
        [claimed] = uow.jobs.claim("dead-worker", clock.now(), timedelta(minutes=1), 10)
        uow.commit()
    assert claimed.id == job_id
    seen: list[int] = []
    registry = HandlerRegistry()
    registry.register("echo", lambda ctx, payload: seen.append(1))
    worker = _worker(container, registry, "w2")
    assert worker.run_once() == 0  # still leased
    clock.advance(minutes=1, seconds=1)
    assert worker.run_once() == 1
    job = stored_job(container, job_id)
    assert (job.state, job.attempts, seen) == (JobState.DONE, 2, [1])


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_owner(
    container: Container, clock: ManualClock
) -> None:
    registry = HandlerRegistry()
    job_id = queue_job(container, "slow", {})

    def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
        # While this worker runs, its lease expires and a second worker takes the job.
        clock.advance(minutes=2)
        with ctx.uow() as uow:
            uow.jobs.claim("w2", clock.now(), timedelta(minutes=1), 1)
            uow.commit()

    registry.register("slow", slow)
    _worker(container, registry, "w1").run_once()
    job = stored_job(container, job_id)
    assert (job.state, job.locked_by, job.attempts) == (JobState.RUNNING, "w2", 2)


def test_two_workers_never_claim_the_same_job(container: Container, clock: ManualClock) -> None:
    ids = {queue_job(container, "echo", {"n": n}) for n in range(6)}
    with container.uow() as uow:
        first = uow.jobs.claim("a", clock.now(), timedelta(minutes=1), 4)
        uow.commit()
    with container.uow() as uow:
        second = uow.jobs.claim("b", clock.now(), timedelta(minutes=1), 4)
        uow.commit()
    assert len(first) == 4 and len(second) == 2
    assert {j.id for j in first} | {j.id for j in second} == ids
    assert not {j.id for j in first} & {j.id for j in second}


def test_a_timer_runs_once_per_period_across_workers(
    container: Container, clock: ManualClock
) -> None:
    ticks: list[datetime] = []
    registry = HandlerRegistry()
    registry.register_timer("tick", timedelta(minutes=1), lambda ctx: ticks.append(clock.now()))
    a, b = _worker(container, registry, "a"), _worker(container, registry, "b")
    a.run_timers()
    b.run_timers()
    assert len(ticks) == 1
    clock.advance(seconds=59)
    a.run_timers()
    b.run_timers()
    assert len(ticks) == 1
    clock.advance(seconds=1)
    b.run_timers()
    a.run_timers()
    assert len(ticks) == 2


def test_registry_refuses_a_second_handler_for_a_kind() -> None:
    registry = HandlerRegistry()
    registry.register("k", lambda ctx, payload: None)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("k", lambda ctx, payload: None)


def test_backoff_doubles_up_to_its_cap() -> None:
    base, cap = timedelta(seconds=10), timedelta(minutes=1)
    assert [backoff(n, base, cap).total_seconds() for n in range(1, 6)] == [10, 20, 40, 60, 60]
    assert backoff(10_000, base, cap) == cap


def test_retry_only_a_dead_job_and_only_as_admin(container: Container) -> None:
    registry = HandlerRegistry()
    job_id = queue_job(container, "unknown.kind", {})
    queued_id = queue_job(
        container, "unknown.kind", {}, run_at=container.clock.now() + timedelta(1)
    )
    _worker(container, registry).run_once()
    with pytest.raises(DomainError) as refused:
        jobs.retry_job(container.uow(), Actor(role=Role.LEAD), container.clock.now(), job_id)
    assert refused.value.code == ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as wrong_state:
        jobs.retry_job(container.uow(), SYSTEM, container.clock.now(), queued_id)
    assert wrong_state.value.code == ErrorCode.JOB_STATE
    job = jobs.retry_job(container.uow(), SYSTEM, container.clock.now(), job_id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 0)
    with container.uow() as uow:
        assert [e.action for e in uow.audit.for_entity("job", str(job_id))] == ["job.retried"]


def test_jobs_api_lists_dead_letters_and_retries(
    client: TestClient, container: Container, admin: dict[str, str], agent: dict[str, str]
) -> None:
    dead_id = queue_job(container, "unknown.kind", {"a": 1})
    queue_job(container, "later", {}, run_at=container.clock.now() + timedelta(hours=1))
    _worker(container, HandlerRegistry()).run_once()
    assert client.get("/api/v1/jobs", headers=agent).status_code == 403
    listed = client.get("/api/v1/jobs", params={"state": "dead"}, headers=admin)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [j["id"] for j in body["items"]] == [dead_id]
    assert body["counts"] == {"queued": 1, "running": 0, "done": 0, "dead": 1}
    retried = client.post(f"/api/v1/jobs/{dead_id}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "queued"
    again = client.post(f"/api/v1/jobs/{dead_id}/retry", headers=admin)
    assert again.status_code == 409
    assert again.json()["code"] == "job_state"
    assert client.post("/api/v1/jobs/999999/retry", headers=admin).status_code == 404
    bad = client.get("/api/v1/jobs", params={"state": "sleeping"}, headers=admin)
    assert bad.status_code == 422


def test_a_killed_worker_s_job_is_completed_exactly_once_by_the_next(
    container: Container, database_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "probe.log"
    with container.uow() as uow:
        job_id = jobs.enqueue(
            uow,
            job_probe.KIND,
            {"marker": str(marker), "name": "killed", "hang_first": True},
            now=datetime.now(UTC),
        )
        uow.commit()
    env = worker_env(database_url)
    command = WORKER_COMMAND
    first = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        wait_for(lambda: marker.exists() and "start" in marker.read_text(), "the first run")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    held = stored_job(container, job_id)
    assert held.state == JobState.RUNNING
    assert held.locked_by is not None and f":{first.pid}:" in held.locked_by
    second = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        wait_for(lambda: stored_job(container, job_id).state == JobState.DONE, "the second run")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    done = stored_job(container, job_id)
    assert (done.state, done.attempts) == (JobState.DONE, 2)
    assert marker.read_text().count("start") == 2
    with container.uow() as uow:
        assert len(uow.audit.for_entity("job_probe", "killed")) == 1


def test_a_slow_job_keeps_its_batch_leased_while_its_worker_lives(
    container: Container, clock: ManualClock
) -> None:
    options = WorkerOptions(lease=timedelta(seconds=0.3), poll_seconds=0.01)
    taken_by_other: list[int] = []

    def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
        start = stored_job(container, job_id).locked_until
        assert start is not None
        clock.advance(seconds=1)  # well past the lease it was claimed with
        wait_for(
            lambda: (stored_job(container, job_id).locked_until or start) > start, "a lease renewal"
        )
        with ctx.uow() as uow:
            taken_by_other.extend(
                j.id or 0 for j in uow.jobs.claim("w2", clock.now(), OPTIONS.lease, 5)
            )
            uow.commit()

    registry = HandlerRegistry()
    registry.register("slow", slow)
    registry.register("quick", lambda ctx, payload: None)
    job_id = queue_job(container, "slow", {})
    # In the same batch, waiting its turn: its lease is renewed with the slow one's.
    waiting_id = queue_job(container, "quick", {})
    Worker(container.job_context(), registry, name="w1", options=options).run_once()
    assert taken_by_other == []
    done = [stored_job(container, i) for i in (job_id, waiting_id)]
    assert [(j.state, j.attempts) for j in done] == [(JobState.DONE, 1)] * 2
