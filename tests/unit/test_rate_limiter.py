"""The in-process rate limiter: a moving window per key, counted on a clock the test moves."""

from __future__ import annotations

from caredesk.adapters.ratelimit import MemoryRateLimiter
from caredesk.domain.rates import Rate


class Clock:
    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


def test_a_key_gets_its_amount_in_a_period_and_is_told_what_is_left() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    rate = Rate.parse("3/minute")
    verdicts = []
    for _ in range(4):
        verdicts.append(limiter.hit(rate, "client:a"))
        clock.at += 10
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    # Room comes back when the first of the three leaves the window, 60 s after it came.
    assert [v.reset_after for v in verdicts] == [60, 50, 40, 30]
    assert limiter.hit(rate, "client:b").allowed, "another key counts apart"


def test_the_window_moves_and_a_refused_request_is_not_counted() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    rate = Rate.parse("2/minute")
    assert limiter.hit(rate, "k").allowed
    clock.at += 30
    assert limiter.hit(rate, "k").allowed
    clock.at += 29
    refused = limiter.hit(rate, "k")
    assert (refused.allowed, refused.remaining, refused.reset_after) == (False, 0, 1)
    clock.at += 1  # the first left the window; the refused one never entered it
    again = limiter.hit(rate, "k")
    assert (again.allowed, again.remaining, again.reset_after) == (True, 0, 30)


def test_each_rate_counts_apart_under_one_key() -> None:
    limiter = MemoryRateLimiter(Clock())
    assert limiter.hit(Rate.parse("1/hour"), "token:1").allowed
    assert not limiter.hit(Rate.parse("1/hour"), "token:1").allowed
    # The token's own limit changed: its new rate counts from nothing, as before.
    assert limiter.hit(Rate.parse("5/hour"), "token:1").allowed


def test_keys_whose_requests_left_the_window_are_forgotten() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    for n in range(100):
        limiter.hit(Rate.parse("10/second"), f"client:{n}")
    limiter.hit(Rate.parse("10/hour"), "token:kept")
    assert limiter.keys() == 101
    clock.at += MemoryRateLimiter.SWEEP_EVERY_SECONDS
    limiter.hit(Rate.parse("10/second"), "client:new")
    assert limiter.keys() == 2, "the hour's key and the new one"


def test_a_new_window_resets_after_its_whole_period_never_more() -> None:
    clock = Clock()
    clock.at = 30448.323289555698  # where `at + 3600 - at` rounds to a hair above 3600
    assert clock.at + 3600 - clock.at > 3600
    verdict = MemoryRateLimiter(clock).hit(Rate.parse("3/hour"), "k")
    assert verdict.reset_after == 3600
