"""The console's live counts (`/events`): on PostgreSQL each serving process listens once for
changes that commit and tells every open stream; on SQLite, or while that listener is down,
the streams poll."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from caredesk.adapters.db.live_changes import LiveChanges
from caredesk.adapters.db.notifications import LIVE_CHANNEL
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import Case
from caredesk.services.cases import cases, customers
from caredesk.settings import Settings
from caredesk.web.pages.queues import live_counts
from tests.integration.job_workers import wait_for
from tests.integration.statements import statements_sent

# Longer than any test waits: a stream polling this seldom that saw a change was told of it.
FOREVER = 600.0
# How long a test waits for what must come; it fails rather than hangs.
PATIENCE = 60.0
LISTENING = f"LISTEN {LIVE_CHANNEL}"


@pytest.fixture
def poll_seconds() -> float:
    """The streams' poll: never, where a test does not set it (`parametrize`)."""
    return FOREVER


@pytest.fixture
def settings(settings: Settings, poll_seconds: float) -> Settings:
    return Settings(**{**settings.model_dump(), "live_poll_seconds": poll_seconds})


class Streams:
    """Open `/events` streams run on one event loop in a thread of its own, as a serving
    process runs them; what each sends is queued for the test to read."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.tasks: list[concurrent.futures.Future[None]] = []

    def open(self) -> queue.Queue[str]:
        sent: queue.Queue[str] = queue.Queue()

        async def pump() -> None:
            async for chunk in live_counts(self.container, SYSTEM):
                sent.put(chunk)

        self.tasks.append(asyncio.run_coroutine_threadsafe(pump(), self.loop))
        return sent

    def close(self) -> None:
        async def cancel_all() -> None:
            for task in self.tasks:
                task.cancel()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(PATIENCE)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(PATIENCE)
        self.loop.close()


@pytest.fixture
def streams(container: Container) -> Iterator[Streams]:
    opened = Streams(container)
    yield opened
    opened.close()


def next_counts(sent: queue.Queue[str]) -> dict[str, Any]:
    """The stream's next counts, past its retry advice and heartbeats."""
    while True:
        chunk = sent.get(timeout=PATIENCE)
        if chunk.startswith("event: counts\n"):
            data = chunk.split("data: ", 1)[1]
            counts: dict[str, Any] = json.loads(data)["counts"]
            return counts


def a_customer(container: Container) -> str:
    customer = customers.create_customer(
        container.uow(), SYSTEM, container.clock.now(), first_name="Lia", last_name="Live",
        emails=["lia@live.example"],
    )  # fmt: skip
    return customer.id


def open_case(container: Container, customer_id: str, subject: str = "Where is it?") -> None:
    cases.create_case(
        container.uow(), SYSTEM, container.clock.now(), customer_id=customer_id, subject=subject
    )


def listening_connections(container: Container) -> int:
    with container.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE query = :listening AND datname = current_database()"
            ),
            {"listening": LISTENING},
        )
        return int(found.scalar_one())


def live_changes(container: Container) -> LiveChanges:
    assert container.live_changes is not None
    return container.live_changes


def test_only_postgresql_has_a_listener(container: Container) -> None:
    postgresql = container.engine.dialect.name == "postgresql"
    assert (container.live_changes is not None) is postgresql


@pytest.mark.postgres_only
def test_a_stream_that_never_polls_hears_of_a_case_committed_elsewhere(
    container: Container, streams: Streams
) -> None:
    customer_id = a_customer(container)
    sent = streams.open()
    before = next_counts(sent)
    wait_for(lambda: live_changes(container).listening, "the listener", PATIENCE)

    open_case(container, customer_id)

    assert next_counts(sent)["open"] == before["open"] + 1


@pytest.mark.postgres_only
def test_a_rolled_back_change_tells_nobody(container: Container, streams: Streams) -> None:
    customer_id = a_customer(container)
    sent = streams.open()
    before = next_counts(sent)
    wait_for(lambda: live_changes(container).listening, "the listener", PATIENCE)
    args, kwargs = container.engine.dialect.create_connect_args(container.engine.url)
    with psycopg.connect(*args, **kwargs, autocommit=True) as overhearing:
        overhearing.execute(f"LISTEN {LIVE_CHANNEL}")
        with container.uow() as uow:
            now = container.clock.now()
            uow.cases.add(Case(None, "Never sent", customer_id, now, now))
            # not committed: rolled back
        open_case(container, customer_id, "Sent")
        with container.engine.begin() as conn:
            conn.execute(text("SELECT pg_notify(:channel, 'end')"), {"channel": LIVE_CHANNEL})

        # Delivered in the order their transactions committed: whatever the rolled-back case
        # sent would come before the committed case's, and both before the end.
        heard: list[str] = []
        for note in overhearing.notifies(timeout=PATIENCE):
            heard.append(note.payload)
            if note.payload == "end":
                break
        assert heard == ["", "end"]
    # The stream's next counts are the committed case's.
    assert next_counts(sent)["open"] == before["open"] + 1


@pytest.mark.postgres_only
def test_a_transaction_sends_one_notification_whatever_it_writes(container: Container) -> None:
    customer_id = a_customer(container)
    with statements_sent(container.engine) as sent, container.uow() as uow:
        now = container.clock.now()
        for n in range(3):
            uow.cases.add(Case(None, f"Case {n}", customer_id, now, now))
        uow.commit()
    assert sum("pg_notify" in s for s in sent) == 1


@pytest.mark.postgres_only
def test_many_streams_share_one_listening_connection(
    container: Container, streams: Streams
) -> None:
    customer_id = a_customer(container)
    wait_for(lambda: listening_connections(container) == 0, "earlier tests' listeners to end")
    opened = [streams.open() for _ in range(5)]
    before = [next_counts(sent) for sent in opened]
    wait_for(lambda: live_changes(container).listening, "the listener", PATIENCE)

    assert listening_connections(container) == 1

    open_case(container, customer_id)
    for sent, counts in zip(opened, before, strict=True):
        assert next_counts(sent)["open"] == counts["open"] + 1


@pytest.mark.postgres_only
@pytest.mark.parametrize("poll_seconds", [0.1])
def test_a_lost_listener_falls_back_to_polling_with_one_warning(
    container: Container,
    streams: Streams,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    customer_id = a_customer(container)
    logger = logging.getLogger("caredesk.live")
    logger.addHandler(caplog.handler)  # whatever the structured logging set up before

    def warnings() -> list[str]:
        # Heard through the root logger too when the logger propagates: each record once.
        records = {id(r): r for r in caplog.records}.values()
        return [r.getMessage() for r in records if r.levelno == logging.WARNING]

    try:
        sent = streams.open()
        before = next_counts(sent)
        changes = live_changes(container)
        wait_for(lambda: changes.listening, "the listener", PATIENCE)
        listener = changes.listener
        assert listener is not None

        def refused() -> None:
            raise psycopg.OperationalError("the server is away")

        monkeypatch.setattr(listener, "connect", refused)
        with container.engine.begin() as conn:
            ended = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query = :listening AND datname = current_database()"
                ),
                {"listening": LISTENING},
            )
            assert list(ended.scalars()) == [True]
        wait_for(lambda: not changes.listening, "the listener to notice", PATIENCE)

        open_case(container, customer_id)  # nobody listens: the stream's poll finds it
        assert next_counts(sent)["open"] == before["open"] + 1
        # Several failed attempts to listen again by now, and one warning for them all.
        wait_for(lambda: len(warnings()) >= 1, "the warning", PATIENCE)
        open_case(container, customer_id, "Still polling")
        assert next_counts(sent)["open"] == before["open"] + 2
        assert len(warnings()) == 1, warnings()

        monkeypatch.undo()
        wait_for(lambda: changes.listening, "the listener back", PATIENCE)
        assert listening_connections(container) == 1
    finally:
        logger.removeHandler(caplog.handler)


@pytest.mark.parametrize("poll_seconds", [0.1])
def test_a_stream_on_sqlite_polls(container: Container, streams: Streams) -> None:
    if container.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL tells its streams: the tests above")
    customer_id = a_customer(container)
    sent = streams.open()
    before = next_counts(sent)

    open_case(container, customer_id)

    assert next_counts(sent)["open"] == before["open"] + 1
