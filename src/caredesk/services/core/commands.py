"""The command path: one change, one transaction, run again when the database asks.

Every service function that changes something is a command: it opens its unit of work
once, records its events, and commits (the handlers run inside that commit). Decorated with
`@command`, it is run again, from the start and on fresh reads, when the database undid
its transaction because another one met it at the same moment (a concurrent write to the
same row, a serialisation failure, a deadlock, a busy SQLite file): a conflict a retry
resolves is never shown to the caller. When retries run out, the caller gets a 409 `conflict`
saying so. A version the *client* sent and that no longer matches is not retried: the
client must look again.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from caredesk.services.core.ports import RetryableConflict

P = ParamSpec("P")
R = TypeVar("R")

ATTEMPTS = 5
# Waits grow from a few milliseconds; the jitter keeps two retrying commands apart.
FIRST_WAIT_SECONDS = 0.005

log = logging.getLogger("caredesk.commands")


def command(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` again (up to ATTEMPTS times) when its transaction met another one."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except RetryableConflict as conflict:
                if attempt == ATTEMPTS:
                    log.warning(
                        "%s: conflict after %d attempts: %s", fn.__name__, attempt, conflict
                    )
                    raise
                wait = FIRST_WAIT_SECONDS * 2 ** (attempt - 1)
                time.sleep(wait * (1 + random.random()))
        raise AssertionError("unreachable")

    return run
