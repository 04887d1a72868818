"""The failed-credential rule: free failures, doubling delays to a ceiling, a lock, a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.domain.errors import ErrorCode, RetryLater, ValidationFailed
from caredesk.domain.rates import Rate
from caredesk.domain.throttling import Throttle, ThrottleKind, ThrottleRule, throttle_key

RULE = ThrottleRule(
    free_failures=2,
    first_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=5),
    lock_failures=6,
    lock_for=timedelta(minutes=15),
    window=timedelta(hours=1),
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_delays_double_after_the_free_failures_up_to_the_ceiling() -> None:
    assert [RULE.delay_after(n).total_seconds() for n in range(1, 8)] == [0, 0, 1, 2, 4, 5, 5]
    assert RULE.delay_after(10**6) == RULE.max_delay


def test_an_attempt_inside_the_delay_is_refused_with_the_time_left() -> None:
    throttle = Throttle(key="k", kind=ThrottleKind.ACCOUNT)
    for _ in range(4):
        throttle.record_failure(T0, RULE)
    with pytest.raises(RetryLater) as refused:
        throttle.check(T0 + timedelta(milliseconds=500))
    assert refused.value.code is ErrorCode.TOO_MANY_ATTEMPTS
    assert refused.value.retry_after == 2
    throttle.check(T0 + timedelta(seconds=2))


def test_the_lock_threshold_locks_once_and_says_so() -> None:
    throttle = Throttle(key="k", kind=ThrottleKind.ACCOUNT)
    locks = [throttle.record_failure(T0, RULE) for _ in range(6)]
    assert locks == [False] * 5 + [True]
    with pytest.raises(RetryLater) as refused:
        throttle.check(T0 + timedelta(minutes=1))
    assert refused.value.code is ErrorCode.ACCOUNT_LOCKED
    assert refused.value.retry_after == 14 * 60
    # After the lock, one more failure locks it again at once.
    after = T0 + timedelta(minutes=16)
    throttle.check(after)
    assert throttle.record_failure(after, RULE) is True


def test_a_client_lock_is_too_many_attempts_not_an_account_lock() -> None:
    throttle = Throttle(key="k", kind=ThrottleKind.CLIENT)
    for _ in range(6):
        throttle.record_failure(T0, RULE)
    with pytest.raises(RetryLater) as refused:
        throttle.check(T0)
    assert refused.value.code is ErrorCode.TOO_MANY_ATTEMPTS


def test_a_failure_after_the_window_counts_afresh() -> None:
    throttle = Throttle(key="k", kind=ThrottleKind.ACCOUNT)
    for _ in range(5):
        throttle.record_failure(T0, RULE)
    throttle.record_failure(T0 + timedelta(hours=1), RULE)
    assert throttle.failures == 1
    assert throttle.next_attempt_at is None


def test_keys_hash_the_value_and_ignore_case_and_spaces() -> None:
    key = throttle_key(ThrottleKind.ACCOUNT, " Kim@Example.com ")
    assert key == throttle_key(ThrottleKind.ACCOUNT, "kim@example.com")
    assert key != throttle_key(ThrottleKind.CLIENT, "kim@example.com")
    assert "kim" not in key


@pytest.mark.parametrize("text", ["60/minute", " 5 / second", "1000/day", "2/hour"])
def test_rates_read_as_settings_write_them(text: str) -> None:
    assert str(Rate.parse(text)) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["", "0/minute", "60", "60/fortnight", "-1/hour", "1.5/day"])
def test_a_rate_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed):
        Rate.parse(text)
