"""A background thread that embeds changed articles and solved cases.

Woken right after a change in this process, and polling now and then for changes made by
other processes; the stored vectors serve every process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from caredesk.services.knowledge import search
from caredesk.services.knowledge.ports import Embedder
from caredesk.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("caredesk.embeddings")


class EmbeddingWorker:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        embedder: Embedder,
        clock: Callable[[], datetime],
        poll_seconds: float,
    ) -> None:
        self._uow_factory = uow_factory
        self._embedder = embedder
        self._clock = clock
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="caredesk-embedder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while not self._stop.is_set() and search.embed_pending(
                    self._uow_factory, self._embedder, self._clock, max_batches=1
                ):
                    pass
            except Exception:  # a failed pass is retried on the next wake or poll
                log.exception("embedding pass failed")
            self._wake.wait(self._poll)
