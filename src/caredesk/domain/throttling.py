"""Failed credentials: growing delays, then a temporary lock.

Each failed sign-in, and each unknown, expired or revoked token or sign-in link, is counted
under the client address it came from; a failed sign-in is counted under the account it
named too. The account is counted by its address's hash whether or not an agent has it, so
an unknown address is delayed and locked exactly like a known one and the answers reveal no
accounts. A few failures are free; after them each failure makes the next attempt wait
longer (doubling up to a ceiling); at the lock threshold nothing is tried for a while, not
even the right password, until the lock runs out or an admin lifts it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from caredesk.domain.errors import ErrorCode, RetryLater

# Past this many doublings the delay is at its ceiling anyway; the cap keeps the float finite.
MAX_DOUBLINGS = 32


class ThrottleKind(StrEnum):
    ACCOUNT = "account"
    CLIENT = "client"


def throttle_key(kind: ThrottleKind, value: str) -> str:
    """What a throttle is stored under: a hash, so the table is no list of every address
    anyone typed or came from."""
    return hashlib.sha256(f"{kind.value}:{value.strip().lower()}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    free_failures: int
    first_delay: timedelta
    max_delay: timedelta
    lock_failures: int
    lock_for: timedelta
    # A failure this long after the previous one starts the count afresh.
    window: timedelta

    def delay_after(self, failures: int) -> timedelta:
        if failures <= self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures - 1, MAX_DOUBLINGS)
        delay: timedelta = self.first_delay * 2**doublings
        return min(delay, self.max_delay)


def _seconds_until(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


@dataclass(slots=True)
class Throttle:
    key: str
    kind: ThrottleKind
    failures: int = 0
    last_failure_at: datetime | None = None
    next_attempt_at: datetime | None = None
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def check(self, now: datetime) -> None:
        """Refuse an attempt made while locked or before the last failure's delay ran out."""
        if self.is_locked(now):
            assert self.locked_until is not None
            retry_after = _seconds_until(self.locked_until, now)
            minutes = math.ceil(retry_after / 60)
            if self.kind is ThrottleKind.ACCOUNT:
                raise RetryLater(
                    f"too many failed sign-ins: this account is locked for {minutes} more "
                    "minutes, or until an admin unlocks it",
                    code=ErrorCode.ACCOUNT_LOCKED,
                    retry_after=retry_after,
                )
            raise RetryLater(
                f"too many failed attempts from your address: try again in {minutes} minutes",
                code=ErrorCode.TOO_MANY_ATTEMPTS,
                retry_after=retry_after,
            )
        if self.next_attempt_at is not None and self.next_attempt_at > now:
            retry_after = _seconds_until(self.next_attempt_at, now)
            raise RetryLater(
                f"too many failed attempts: wait {retry_after} seconds before trying again",
                code=ErrorCode.TOO_MANY_ATTEMPTS,
                retry_after=retry_after,
            )

    def record_failure(self, now: datetime, rule: ThrottleRule) -> bool:
        """Count one failure; return whether it locked the throttle (and so needs a line of
        its own in the audit trail)."""
        if self.last_failure_at is not None and now - self.last_failure_at >= rule.window:
            self.failures = 0
        self.failures += 1
        self.last_failure_at = now
        delay = rule.delay_after(self.failures)
        self.next_attempt_at = now + delay if delay else None
        if self.failures < rule.lock_failures:
            return False
        was_locked = self.is_locked(now)
        self.locked_until = now + rule.lock_for
        return not was_locked

    def state(self) -> dict[str, object]:
        """What the audit trail records of it."""
        return {
            "failures": self.failures,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
        }
