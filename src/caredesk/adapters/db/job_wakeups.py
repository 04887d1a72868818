"""Idle workers on PostgreSQL wake on LISTEN/NOTIFY, each on a connection of its own.

Enqueuing a job that is due now sends a NOTIFY in the enqueuing transaction
(`jobs_repo.SqlJobRepository`), so PostgreSQL delivers it when that transaction commits, and
never for one rolled back. A notification only says "look": the claim decides who runs what.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from caredesk.adapters.db.jobs_repo import JOBS_CHANNEL
from caredesk.adapters.db.notifications import Listener

log = logging.getLogger("caredesk.jobs")


class JobListener(Listener):
    """A worker's listener: it waits at most `listen_seconds` for a notification, as jobs due
    later, retries after a backoff and timers send none; without its connection it polls
    every `poll_seconds`."""

    def __init__(self, engine: Engine, *, listen_seconds: float, poll_seconds: float) -> None:
        super().__init__(
            engine,
            JOBS_CHANNEL,
            listen_seconds=listen_seconds,
            poll_seconds=poll_seconds,
            listening_for="new jobs",
            log=log,
        )
