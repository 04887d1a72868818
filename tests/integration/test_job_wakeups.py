"""Idle workers on PostgreSQL wake on NOTIFY, sent by the enqueuing transaction when it
commits, and poll while they cannot listen."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from caredesk.adapters.db.job_wakeups import JobListener
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.jobs import JobState
from caredesk.services.core import jobs
from caredesk.services.core.jobs import HandlerRegistry, Polling, Worker, WorkerOptions
from caredesk.services.core.ports import JobWakeups
from tests.integration.job_workers import queue_job, stored_job, wait_for
from tests.integration.statements import statements_sent

# Longer than any test waits: a worker polling this seldom that ran a job was woken.
FOREVER = 600.0
# How long a listener in these tests waits for the notification it should get: a wait that
# ends without one returns False, and the test fails rather than hangs.
PATIENCE = 30.0


def _listener(container: Container, listen_seconds: float = PATIENCE) -> JobListener:
    return JobListener(container.engine, listen_seconds=listen_seconds, poll_seconds=PATIENCE)


def test_workers_listen_on_postgresql_and_poll_sqlite(container: Container) -> None:
    wakeups = container.job_wakeups()
    try:
        expected = JobListener if container.engine.dialect.name == "postgresql" else Polling
        assert isinstance(wakeups, expected)
    finally:
        wakeups.close()


@pytest.mark.postgres_only
def test_a_due_job_notifies_once_per_transaction_when_it_commits(container: Container) -> None:
    listener = _listener(container, listen_seconds=0.3)
    stop = threading.Event()
    try:
        with container.uow() as uow:
            jobs.enqueue(uow, "echo", {}, now=container.clock.now())
            # not committed: rolled back, and nobody was told
        later = container.clock.now() + timedelta(minutes=5)
        queue_job(container, "echo", {}, run_at=later)  # due later: the poll finds it
        assert listener.wait(stop) is False

        with statements_sent(container.engine) as sent, container.uow() as uow:
            for n in range(3):
                jobs.enqueue(uow, "echo", {"n": n}, now=container.clock.now())
            assert listener.wait(stop) is False  # sent, but delivered only on commit
            uow.commit()
        assert listener.wait(stop) is True
        assert sum("pg_notify" in s for s in sent) == 1
    finally:
        listener.close()


@pytest.mark.postgres_only
def test_a_dead_job_queued_again_wakes_the_workers(container: Container) -> None:
    dead_id = queue_job(container, "nobody.handles.this", {})
    Worker(container.job_context(), HandlerRegistry(), name="w").run_once()
    listener = _listener(container)
    try:
        jobs.retry_job(container.uow(), SYSTEM, container.clock.now(), dead_id)
        assert listener.wait(threading.Event()) is True
    finally:
        listener.close()


class _Recorder:
    """The worker's wake-ups, noting that it waits and what ended each wait."""

    def __init__(self, inner: JobWakeups) -> None:
        self.inner = inner
        self.waiting = threading.Event()
        self.woken: list[bool] = []

    def wait(self, stop: threading.Event) -> bool:
        self.waiting.set()
        woken = self.inner.wait(stop)
        self.woken.append(woken)
        return woken

    def close(self) -> None:
        self.inner.close()


@pytest.mark.postgres_only
def test_a_notification_wakes_an_idle_worker_long_before_its_poll(container: Container) -> None:
    ran: list[int] = []
    registry = HandlerRegistry()
    registry.register("echo", lambda ctx, payload: ran.append(payload["n"]))
    listener = JobListener(container.engine, listen_seconds=FOREVER, poll_seconds=FOREVER)
    wakeups = _Recorder(listener)
    worker = Worker(
        container.job_context(),
        registry,
        name="w",
        options=WorkerOptions(poll_seconds=FOREVER),
        wakeups=wakeups,
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        assert wakeups.waiting.wait(30), "the worker never went idle"
        job_id = queue_job(container, "echo", {"n": 1})
        wait_for(lambda: stored_job(container, job_id).state == JobState.DONE, "the job", 60)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert ran == [1] and wakeups.woken[0] is True


@pytest.mark.postgres_only
def test_a_lost_listening_connection_is_made_again(container: Container) -> None:
    listener = _listener(container)
    stop = threading.Event()
    try:
        with container.engine.begin() as conn:
            ended = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query = 'LISTEN caredesk_jobs' AND datname = current_database()"
                )
            ).scalars()
            assert list(ended) == [True]
        assert listener.wait(stop) is True  # lost: what it missed must be looked for now
        assert listener.wait(stop) is True  # listening again, on a new connection
        queue_job(container, "echo", {})
        assert listener.wait(stop) is True
    finally:
        listener.close()


def test_a_worker_that_cannot_listen_polls() -> None:
    unreachable = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    listener = JobListener(unreachable, listen_seconds=FOREVER, poll_seconds=0.05)
    stop = threading.Event()
    assert listener.wait(stop) is False
    stop.set()
    assert listener.wait(stop) is False
    assert Polling(FOREVER).wait(stop) is False  # a stopping worker does not wait out a poll
    listener.close()
