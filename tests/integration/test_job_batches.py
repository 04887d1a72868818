"""Workers claim jobs in batches and record a batch's outcomes with the next claim: what that
costs, that batches claimed at once never share a job, and what a killed worker leaves."""

from __future__ import annotations

import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Barrier

import pytest

from caredesk.bootstrap import Container
from caredesk.domain.jobs import JobState
from caredesk.services.core import jobs
from caredesk.services.core.jobs import HandlerRegistry, Worker, WorkerOptions
from tests.conftest import ManualClock
from tests.integration import job_probe
from tests.integration.job_workers import (
    WORKER_COMMAND,
    queue_job,
    stored_job,
    wait_for,
    worker_env,
)
from tests.integration.statements import commits_made, statements_sent

LEASE = timedelta(minutes=1)


def test_twenty_jobs_cost_the_worker_three_transactions_of_two_statements_at_most(
    container: Container,
) -> None:
    registry = HandlerRegistry()
    registry.register("noop", lambda ctx, payload: None)
    for n in range(20):
        queue_job(container, "noop", {"n": n})
    worker = Worker(
        container.job_context(), registry, name="w", options=WorkerOptions(batch_size=10)
    )
    with commits_made(container.engine) as commits, statements_sent(container.engine) as sent:
        assert worker.run_once() == 20
    # Claim ten; record those ten and claim ten more; record those and find none due. One job
    # at a time took two transactions and five statements a job (claim, read, mark).
    statements = [s.split()[0].upper() for s in sent if not s.startswith("BEGIN")]
    assert (len(commits), statements) == (3, ["WITH", "UPDATE", "WITH", "UPDATE", "WITH"])
    with container.uow() as uow:
        assert uow.jobs.counts()[JobState.DONE] == 20


@pytest.mark.postgres_only
def test_claims_running_at_once_take_disjoint_batches(
    container: Container, clock: ManualClock
) -> None:
    ids = {queue_job(container, "echo", {"n": n}) for n in range(12)}
    both_claimed = Barrier(2, timeout=30)

    def claim(worker: str) -> set[int]:
        with container.uow() as uow:
            batch = {j.id or 0 for j in uow.jobs.claim(worker, clock.now(), LEASE, 5)}
            # Neither commits before both have claimed: each claim ran while the other held
            # its rows locked, and had to skip them, not wait for them.
            both_claimed.wait()
            uow.commit()
        return batch

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(claim, ["a", "b"])
    with container.uow() as uow:
        rest = {j.id or 0 for j in uow.jobs.claim("c", clock.now(), LEASE, 5)}
        uow.commit()
    assert (len(first), len(second), len(rest)) == (5, 5, 2)
    assert not first & second and first | second | rest == ids


def test_concurrent_workers_in_batches_run_every_job_exactly_once(container: Container) -> None:
    ran: list[int] = []
    registry = HandlerRegistry()
    registry.register("count", lambda ctx, payload: ran.append(payload["n"]))
    for n in range(150):
        queue_job(container, "count", {"n": n})
    options = replace(WorkerOptions(lease=LEASE), batch_size=7)
    workers = [
        Worker(container.job_context(), registry, name=f"w{i}", options=options) for i in range(3)
    ]
    with ThreadPoolExecutor(len(workers)) as pool:
        counts = list(pool.map(lambda w: w.run_once(), workers))
    assert sorted(ran) == list(range(150)) and sum(counts) == 150
    with container.uow() as uow:
        assert uow.jobs.counts()[JobState.DONE] == 150


def test_a_worker_killed_mid_batch_leaves_its_unrecorded_jobs_to_the_lease(
    container: Container, database_url: str, tmp_path: Path
) -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    with container.uow() as uow:
        ids = {
            name: jobs.enqueue(
                uow,
                job_probe.KIND,
                {"marker": str(tmp_path / f"{name}.log"), "name": name, "hang_first": name == "e"},
                now=datetime.now(UTC),
            )
            for name in names
        }
        uow.commit()

    def starts(name: str) -> int:
        marker = tmp_path / f"{name}.log"
        return marker.read_text().count("start") if marker.exists() else 0

    def states() -> dict[str, tuple[JobState, int]]:
        return {n: (j.state, j.attempts) for n in names if (j := stored_job(container, ids[n]))}

    env = worker_env(database_url, job_batch_size="3")
    # Batch one (a, b, c) runs; its outcomes are recorded with the claim of batch two (d, e,
    # f); d runs, e hangs, and the worker is killed with d's outcome in hand, f not started.
    first = subprocess.Popen(WORKER_COMMAND, env=env, cwd=tmp_path)
    try:
        wait_for(lambda: starts("e") == 1, "e to start")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert states() == {
        **dict.fromkeys("abc", (JobState.DONE, 1)),
        **dict.fromkeys("def", (JobState.RUNNING, 1)),
    }
    second = subprocess.Popen(WORKER_COMMAND, env=env, cwd=tmp_path)
    try:
        wait_for(lambda: stored_job(container, ids["f"]).state == JobState.DONE, "the rerun")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    assert states() == {
        **dict.fromkeys("abc", (JobState.DONE, 1)),
        **dict.fromkeys("def", (JobState.DONE, 2)),
    }
    # Run again: d (finished, not recorded) and e (killed); f ran once, in the second worker.
    assert [starts(n) for n in names] == [1, 1, 1, 2, 2, 1]
    with container.uow() as uow:
        assert all(len(uow.audit.for_entity("job_probe", n)) == 1 for n in names)
