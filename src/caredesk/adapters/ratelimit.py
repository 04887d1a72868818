"""Request counting: a moving window per key, in the process's memory or (on the `limits`
library) in Redis.

The moving window counts exactly the requests of the last period (a fixed window would let
twice the limit through around each window's edge). In memory each process counts alone;
with `CAREDESK_REDIS_URL` every API process counts in the same Redis.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import lru_cache

import limits
import structlog
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from caredesk.domain.rates import Rate
from caredesk.services.access.ports import RateVerdict

log = structlog.get_logger("caredesk.ratelimit")
KEY_PREFIX = "caredesk"
# A Redis that does not answer is not asked again for this long: requests pass uncounted
# meanwhile, instead of each waiting out a connection timeout.
PAUSE_AFTER_FAILURE_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.5


@lru_cache(maxsize=64)
def _item(rate: Rate) -> limits.RateLimitItem:
    return limits.parse(str(rate))


class MemoryRateLimiter:
    """Counts in this process: per key, the moments of the requests it let through in the last
    period, oldest first.

    Every API request is counted twice (its client address, its caller), so this is on the
    path of every call: a hit drops the moments that left the window, compares and appends,
    under one lock. (The `limits` library's memory storage started a timer thread on each
    hit after an idle moment, and copied each key's list of moments to expire them.)
    """

    # Keys nobody used for a whole period are dropped at most this often.
    SWEEP_EVERY_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # Per key: its period and the moments of the requests let through within it.
        self._windows: dict[str, tuple[float, deque[float]]] = {}
        self._swept_at = clock()

    @property
    def remote(self) -> bool:
        return False

    def hit(self, rate: Rate, key: str) -> RateVerdict:
        period = float(rate.seconds)
        # The same key may be asked at another rate (a token's own limit changed): each
        # rate counts under its own key, as `limits` keys them.
        key = f"{key}/{rate}"
        with self._lock:
            now = self._clock()
            if now - self._swept_at >= self.SWEEP_EVERY_SECONDS:
                self._sweep(now)
            moments = self._window(key, period)
            while moments and moments[0] <= now - period:
                moments.popleft()
            allowed = len(moments) < rate.amount
            if allowed:
                moments.append(now)
            oldest = moments[0] if moments else now
        return RateVerdict(
            allowed=allowed,
            rate=rate,
            remaining=max(0, rate.amount - len(moments)),
            # What is left of the oldest one's period (not `oldest + period - now`, whose
            # rounding can make a whole period one second longer).
            reset_after=max(1, math.ceil(period - (now - oldest))),
        )

    def _window(self, key: str, period: float) -> deque[float]:
        found = self._windows.get(key)
        if found is None:
            found = self._windows[key] = (period, deque())
        return found[1]

    def _sweep(self, now: float) -> None:
        """Forget the keys whose last request left the window: clients come and go."""
        self._swept_at = now
        idle = [
            key
            for key, (period, moments) in self._windows.items()
            if not moments or moments[-1] <= now - period
        ]
        for key in idle:
            del self._windows[key]

    def keys(self) -> int:
        """How many keys are counted now (what the sweep keeps bounded)."""
        with self._lock:
            return len(self._windows)


class LimitsRateLimiter:
    """Counts in Redis, shared by every API process (the `limits` library's moving window)."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._remote = redis_url is not None
        if redis_url is not None:
            storage = storage_from_string(
                redis_url,
                wrap_exceptions=True,
                key_prefix=KEY_PREFIX,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        else:
            storage = storage_from_string("memory://", wrap_exceptions=True)
        self._limiter = MovingWindowRateLimiter(storage)
        self._failing = False
        self._paused_until = 0.0

    @property
    def remote(self) -> bool:
        return self._remote

    def hit(self, rate: Rate, key: str) -> RateVerdict | None:
        if time.monotonic() < self._paused_until:
            return None
        item = _item(rate)
        try:
            allowed = self._limiter.hit(item, key)
            stats = self._limiter.get_window_stats(item, key)
        except StorageError as exc:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            if not self._failing:
                log.error("rate-limit counts unreachable; requests pass uncounted", error=str(exc))
                self._failing = True
            return None
        if self._failing:
            log.warning("rate-limit counts reachable again")
            self._failing = False
        return RateVerdict(
            allowed=allowed,
            rate=rate,
            remaining=max(0, stats.remaining),
            reset_after=max(1, math.ceil(stats.reset_time - time.time())),
        )
