"""The service tier's fakes behave as the database does: the same contract, run against the
in-memory repository and the SQL one, so a service test on a fake means what it says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from caredesk.bootstrap import Container
from caredesk.domain.jobs import Job, JobState, Outcome
from caredesk.domain.webhooks import Delivery, DeliveryStatus, Subscription
from tests.conftest import ManualClock
from tests.service.fakes import FakeUnitOfWork

LEASE = timedelta(minutes=5)


@pytest.fixture(params=["fake", "sql"])
def unit(request: pytest.FixtureRequest, container: Container) -> Iterator[Any]:
    """An open unit of work of either kind; what it wrote is committed at the test's end."""
    uow = FakeUnitOfWork() if request.param == "fake" else container.uow()
    with uow:
        yield uow


def job(at: datetime, *, key: str | None = None, run_in: timedelta = timedelta(0)) -> Job:
    return Job(
        id=None,
        kind="ping",
        payload={"n": 1},
        state=JobState.QUEUED,
        run_at=at + run_in,
        created_at=at,
        key=key,
    )


def test_jobs_are_added_once_per_key_and_found_newest_first(unit: Any, clock: ManualClock) -> None:
    now = clock.now()
    first = unit.jobs.add(job(now, key="k"))
    assert unit.jobs.add(job(now, key="k")) == first
    second = unit.jobs.add(job(now))
    third = unit.jobs.add(job(now))

    assert [j.id for j in unit.jobs.find(None, 10, None)] == [third, second, first]
    assert [j.id for j in unit.jobs.find(None, 10, third)] == [second, first]
    assert [j.id for j in unit.jobs.find(JobState.QUEUED, 1, None)] == [third]
    assert unit.jobs.by_key("k").id == first and unit.jobs.by_key("nope") is None
    assert unit.jobs.counts()[JobState.QUEUED] == 3 and unit.jobs.counts()[JobState.DEAD] == 0


def test_a_job_read_is_a_copy_until_it_is_saved(unit: Any, clock: ManualClock) -> None:
    job_id = unit.jobs.add(job(clock.now()))
    read = unit.jobs.get(job_id)
    read.state = JobState.DEAD
    assert unit.jobs.get(job_id).state is JobState.QUEUED
    unit.jobs.save(read)
    assert unit.jobs.get(job_id).state is JobState.DEAD


def test_claims_take_due_jobs_in_order_and_expired_leases_again(
    unit: Any, clock: ManualClock
) -> None:
    now = clock.now()
    later = unit.jobs.add(job(now, run_in=timedelta(minutes=1)))
    early = unit.jobs.add(job(now - timedelta(minutes=1)))
    due = unit.jobs.add(job(now))

    claimed = unit.jobs.claim("w1", now, LEASE, 5)

    assert [j.id for j in claimed] == [early, due]
    assert all(j.state is JobState.RUNNING and j.attempts == 1 for j in claimed)
    assert unit.jobs.claim("w2", now, LEASE, 5) == []
    assert unit.jobs.extend_leases([early, due], "w2", now + LEASE) == 0
    assert unit.jobs.extend_leases([early], "w1", now + 2 * LEASE) == 1
    taken = unit.jobs.claim("w2", now + LEASE + timedelta(seconds=1), LEASE, 5)
    assert [j.id for j in taken] == [due, later]
    assert taken[0].locked_by == "w2" and taken[0].attempts == 2


def test_outcomes_are_recorded_for_the_jobs_their_worker_still_holds(
    unit: Any, clock: ManualClock
) -> None:
    now = clock.now()
    done, again, dead, released, taken = (unit.jobs.add(job(now)) for _ in range(5))
    assert len(unit.jobs.claim("w1", now, LEASE, 4)) == 4
    # w1 ran this one too, but its lease ran out and w2 holds it now.
    assert [j.id for j in unit.jobs.claim("w2", now, LEASE, 1)] == [taken]
    later = now + timedelta(seconds=30)

    recorded = unit.jobs.record(
        "w1",
        [
            Outcome.done(done),
            Outcome.again(again, later + timedelta(seconds=10), "TemporaryFailure: busy"),
            Outcome.dead(dead, "PermanentFailure: gone"),
            Outcome.release(released),
            Outcome.done(taken),
        ],
        later,
    )

    assert recorded == {done, again, dead, released}
    states = {
        i: (j.state, j.attempts, j.locked_by, j.finished_at, j.last_error)
        for i in recorded | {taken}
        if (j := unit.jobs.get(i))
    }
    assert states == {
        done: (JobState.DONE, 1, None, later, None),
        again: (JobState.QUEUED, 1, None, None, "TemporaryFailure: busy"),
        dead: (JobState.DEAD, 1, None, later, "PermanentFailure: gone"),
        released: (JobState.QUEUED, 0, None, None, None),
        taken: (JobState.RUNNING, 1, "w2", None, None),
    }
    assert unit.jobs.get(again).run_at == later + timedelta(seconds=10)
    assert unit.jobs.get(released).run_at == now
    assert unit.jobs.record("w1", [Outcome.done(done)], later) == set()


def test_a_timer_is_won_once_per_period(unit: Any, clock: ManualClock) -> None:
    now, every = clock.now(), timedelta(minutes=1)
    assert unit.jobs.claim_timer("tick", every, now) is True
    assert unit.jobs.claim_timer("tick", every, now + timedelta(seconds=30)) is False
    assert unit.jobs.claim_timer("tick", every, now + every) is True
    assert unit.jobs.claim_timer("tock", every, now) is True


def subscription(at: datetime, url: str, *, active: bool = True) -> Subscription:
    return Subscription(
        id=None,
        url=url,
        events=["case.created"],
        secret="whsec_test",
        created_at=at,
        updated_at=at,
        active=active,
    )


def delivery(at: datetime, subscription_id: int) -> Delivery:
    return Delivery(
        id=None, subscription_id=subscription_id, event="case.created", payload={}, created_at=at
    )


def test_subscriptions_and_their_deliveries(unit: Any, clock: ManualClock) -> None:
    now = clock.now()
    on, off = (
        subscription(now, "https://a.example.com/"),
        subscription(now, "https://b.example.com/", active=False),
    )
    unit.webhooks.add_subscription(on)
    unit.webhooks.add_subscription(off)
    assert [s.id for s in unit.webhooks.subscriptions()] == [on.id, off.id]
    assert [s.id for s in unit.webhooks.subscriptions(active_only=True)] == [on.id]

    sent = [delivery(now, on.id) for _ in range(3)]
    for d in sent:
        unit.webhooks.add_delivery(d)
    unit.webhooks.add_delivery(delivery(now, off.id))
    newest_first = [d.id for d in reversed(sent)]
    assert [d.id for d in unit.webhooks.deliveries(on.id, 10, None)] == newest_first
    assert [d.id for d in unit.webhooks.deliveries(on.id, 1, newest_first[0])] == newest_first[1:2]

    first = unit.webhooks.get_delivery(sent[0].id)
    first.status = DeliveryStatus.DELIVERED
    assert unit.webhooks.get_delivery(sent[0].id).status is DeliveryStatus.PENDING
    unit.webhooks.save_delivery(first)
    assert unit.webhooks.get_delivery(sent[0].id).status is DeliveryStatus.DELIVERED

    unit.webhooks.delete_subscription(on.id)
    assert unit.webhooks.get_subscription(on.id) is None
    assert unit.webhooks.get_delivery(sent[0].id) is None
    assert unit.webhooks.deliveries(on.id, 10, None) == []
    assert len(unit.webhooks.deliveries(off.id, 10, None)) == 1


def test_what_is_not_committed_is_rolled_back(container: Container, clock: ManualClock) -> None:
    for uow in (FakeUnitOfWork(), container.uow()):
        with uow:
            kept = uow.jobs.add(job(clock.now()))
            uow.commit()
        with uow:
            uow.jobs.add(job(clock.now()))
        with uow:
            assert [j.id for j in uow.jobs.find(None, 10, None)] == [kept], type(uow).__name__
