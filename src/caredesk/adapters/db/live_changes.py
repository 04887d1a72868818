"""The live counts of a serving process on PostgreSQL: one LISTEN connection for all its
open consoles, instead of each console asking for the change stamp every few seconds.

Every transaction that moves the console's change stamp sends a NOTIFY on `LIVE_CHANNEL`
(cases_repo.py, grants_repo.py), delivered when it commits and never for one rolled back.
One thread per process listens and wakes every open stream of the process; each stream then
reads the stamp, and its own agent's counts where the stamp moved. While the connection is
down the streams poll as they do on SQLite, and the thread tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from sqlalchemy import Engine

from caredesk.adapters.db.notifications import LIVE_CHANNEL, Listener

log = logging.getLogger("caredesk.live")

# A notification ends the listener's wait at once; this only bounds how long the thread
# goes without looking at anything else.
LISTEN_SECONDS = 60.0
STOP_JOIN_SECONDS = 10.0


class LiveWaiter:
    """One open stream's side: set from the listening thread, waited on in the stream's own
    event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._told = asyncio.Event()

    def tell(self) -> None:
        """From any thread: the loop itself sets the event, as asyncio's objects are not
        thread-safe."""
        # A closed loop raises: its stream is gone, and nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._told.set)

    def forget(self) -> None:
        """Before a look: what is told from now on is news to that look."""
        self._told.clear()

    async def wait(self, seconds: float) -> bool:
        """True when told since the last `forget`, False after `seconds` without a word."""
        try:
            await asyncio.wait_for(self._told.wait(), max(seconds, 0.0))
        except TimeoutError:
            return False
        return True


class LiveChanges:
    """A process's one listener for the console's live counts, started with its first stream
    and stopped with the container. `listening` says whether the streams may wait to be told
    or must poll."""

    def __init__(self, engine: Engine, *, poll_seconds: float) -> None:
        self._engine = engine
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._waiters: set[LiveWaiter] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: Listener | None = None

    @property
    def listener(self) -> Listener | None:
        """The listener, once the first stream started it."""
        return self._listener

    @property
    def listening(self) -> bool:
        listener = self._listener
        return listener is not None and listener.listening

    def subscribe(self) -> LiveWaiter:
        """A waiter for the calling stream, in its event loop; the first starts the thread."""
        waiter = LiveWaiter()
        with self._lock:
            self._waiters.add(waiter)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="caredesk-live-listener", daemon=True
                )
                self._thread.start()
        return waiter

    def unsubscribe(self, waiter: LiveWaiter) -> None:
        with self._lock:
            self._waiters.discard(waiter)

    def _tell_everyone(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.tell()

    def _run(self) -> None:
        listener = Listener(
            self._engine,
            LIVE_CHANNEL,
            listen_seconds=LISTEN_SECONDS,
            poll_seconds=self.poll_seconds,
            listening_for="changes to the live counts",
            log=log,
        )
        self._listener = listener
        try:
            # Listening (or not) from now: a stream that looked before missed nothing only if
            # it looks again, and one polling learns it may stop.
            self._tell_everyone()
            while not self._stop.is_set():
                if listener.wait(self._stop):
                    self._tell_everyone()
        finally:
            listener.close()
            self._tell_everyone()  # stopped listening: whoever still streams polls now

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(STOP_JOIN_SECONDS)
