"""PostgreSQL's LISTEN/NOTIFY: a writing transaction tells a channel's listeners when it
commits, and a listener that loses its connection polls until it has one again.

A notification only says "look": the listener reads what changed itself. SQLite sends none;
whoever waits on it polls. Idle job workers (job_wakeups.py) and each serving process's live
counts (live_changes.py) listen this way, each on a connection of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

import psycopg
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session as OrmSession

# How often a waiting listener looks whether it was told to stop.
STOP_CHECK_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 5
# The channel told by every transaction that moves the console's change stamp (a case
# written, an approval asked for or decided: `console_queries.change_stamp`); each serving
# process's live counts listen on it (live_changes.py).
LIVE_CHANNEL = "caredesk_live"
# The channels a session's transaction will tell when it commits.
_TO_TELL = "caredesk_channels_to_tell"


def notify_on_commit(session: OrmSession, channel: str) -> None:
    """Tell `channel`'s listeners when the session's transaction commits, and never if it
    rolls back: the unit of work sends the NOTIFY just before its COMMIT (`send_notifications`).
    Once per transaction, whatever it wrote: listeners look once anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.info.setdefault(_TO_TELL, set()).add(channel)


def send_notifications(session: OrmSession) -> None:
    """The NOTIFY of every channel this transaction asked for, in one statement: PostgreSQL
    delivers them when the transaction commits."""
    channels = session.info.pop(_TO_TELL, None)
    if channels:
        session.execute(select(*(func.pg_notify(c, "") for c in sorted(channels))))


def forget_notifications(session: OrmSession) -> None:
    """The transaction rolled back: what it changed is gone, and nobody is told."""
    session.info.pop(_TO_TELL, None)


class Listener:
    """LISTENs on `channel` from the moment it is made, so that nothing committed after its
    owner's first look goes unheard; waits at most `listen_seconds` for a notification.
    Without its connection (the server restarted, a network fault) it polls every
    `poll_seconds` and tries again, saying so once in the log rather than at every poll."""

    def __init__(
        self,
        engine: Engine,
        channel: str,
        *,
        listen_seconds: float,
        poll_seconds: float,
        listening_for: str,
        log: logging.Logger,
    ) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        # How it connects, each time it listens again.
        self.connect = partial(
            psycopg.connect,
            *args,
            **kwargs,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        self.channel = channel
        self.listen_seconds = listen_seconds
        self.poll_seconds = poll_seconds
        self._listening_for = listening_for
        self._log = log
        # Said once when listening fails, not at every poll until it is back.
        self._failing = False
        self._connection = self._listen()

    @property
    def listening(self) -> bool:
        return self._connection is not None

    def _listen(self) -> psycopg.Connection[tuple[object, ...]] | None:
        try:
            connection = self.connect()
            connection.execute(f"LISTEN {self.channel}")
        except psycopg.Error as exc:
            if not self._failing:
                self._log.warning(
                    "cannot listen for %s (%s): polling every %ss",
                    self._listening_for,
                    exc,
                    self.poll_seconds,
                )
            self._failing = True
            return None
        if self._failing:
            self._log.info("listening for %s again", self._listening_for)
        self._failing = False
        return connection

    def wait(self, stop: threading.Event) -> bool:
        """True when there may be something to look at: a notification came, or the
        connection was lost or made again (what was sent meanwhile went unheard)."""
        if self._connection is None:
            self._connection = self._listen()
            if self._connection is None:
                stop.wait(self.poll_seconds)
                return False
            return True  # listening again: what changed meanwhile was not announced
        try:
            return self._notified(self._connection, stop)
        except psycopg.Error as exc:
            self._log.warning(
                "the connection listening for %s failed (%s)", self._listening_for, exc
            )
            self.close()
            # That was the warning: failing to connect again says nothing more.
            self._failing = True
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
