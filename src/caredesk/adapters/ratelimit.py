"""Request counting on the `limits` library: a moving window per key, in memory or in Redis.

The moving window counts exactly the requests of the last period (a fixed window would let
twice the limit through around each window's edge). In memory each process counts alone;
with `CAREDESK_REDIS_URL` every API process counts in the same Redis.
"""

from __future__ import annotations

import math
import time
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


class LimitsRateLimiter:
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
