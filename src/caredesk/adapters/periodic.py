"""A background thread that does one thing every so often, and once more when stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("caredesk.periodic")


class Periodic:
    def __init__(self, name: str, every_seconds: float, task: Callable[[], object]) -> None:
        self._task = task
        self._every = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"caredesk-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop, and run the task a last time: what it keeps up to date is left so."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._run_once()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._run_once()

    def _run_once(self) -> None:
        try:
            self._task()
        except Exception:  # retried on the next turn; a failed pass loses nothing it holds
            log.exception("%s failed", self._thread.name)
