"""What sign-in protection needs from storage: the failure counts, shared by every process."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from caredesk.domain.throttling import Throttle


class ThrottleRepository(Protocol):
    def get(self, key: str) -> Throttle | None: ...

    def get_for_change(self, key: str) -> Throttle | None:
        """The throttle, held against other writers until the unit of work ends, so that
        failures counted at the same moment are all counted."""
        ...

    def save(self, throttle: Throttle) -> None: ...

    def delete(self, key: str) -> None: ...

    def locked(self, keys: Collection[str], now: datetime) -> dict[str, datetime]:
        """Of these keys, those locked at `now`, with the end of their lock."""
        ...
