"""Idle workers on PostgreSQL wake on LISTEN/NOTIFY, each on a connection of its own.

Enqueuing a job that is due now sends a NOTIFY in the enqueuing transaction
(`jobs_repo.SqlJobRepository`), so PostgreSQL delivers it when that transaction commits, and
never for one rolled back. A notification only says "look": the claim decides who runs what.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

import psycopg
from sqlalchemy import Engine

from caredesk.adapters.db.jobs_repo import JOBS_CHANNEL

log = logging.getLogger("caredesk.jobs")

# How often a waiting worker looks whether it was told to stop.
STOP_CHECK_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 5


class JobListener:
    """LISTENs for new jobs from the moment it is made, so that nothing committed after the
    worker's first look goes unheard; waits at most `listen_seconds` for a notification, as
    jobs due later, retries after a backoff and timers send none. Without its connection (the
    server restarted, a network fault) it polls every `poll_seconds` and tries again."""

    def __init__(self, engine: Engine, *, listen_seconds: float, poll_seconds: float) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self._connect = partial(
            psycopg.connect,
            *args,
            **kwargs,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        self.listen_seconds = listen_seconds
        self.poll_seconds = poll_seconds
        # Said once when listening fails, not at every poll until it is back.
        self._failing = False
        self._connection = self._listen()

    def _listen(self) -> psycopg.Connection[tuple[object, ...]] | None:
        try:
            connection = self._connect()
            connection.execute(f"LISTEN {JOBS_CHANNEL}")
        except psycopg.Error as exc:
            if not self._failing:
                log.warning(
                    "cannot listen for new jobs (%s): polling every %ss", exc, self.poll_seconds
                )
            self._failing = True
            return None
        if self._failing:
            log.info("listening for new jobs again")
        self._failing = False
        return connection

    def wait(self, stop: threading.Event) -> bool:
        if self._connection is None:
            self._connection = self._listen()
            if self._connection is None:
                stop.wait(self.poll_seconds)
                return False
            return True  # listening again: what was queued meanwhile was not announced
        try:
            return self._notified(self._connection, stop)
        except psycopg.Error as exc:
            log.warning("the connection listening for new jobs failed (%s)", exc)
            self.close()
            return True  # look now: notifications may have been lost with the connection

    def _notified(
        self, connection: psycopg.Connection[tuple[object, ...]], stop: threading.Event
    ) -> bool:
        deadline = time.monotonic() + self.listen_seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if list(connection.notifies(timeout=min(left, STOP_CHECK_SECONDS), stop_after=1)):
                # One look answers every notification that came meanwhile: take them all.
                list(connection.notifies(timeout=0))
                return True
        return False

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
