"""SLA clocks under business hours: pauses, DST, holidays and policy changes (properties)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from caredesk.domain.calendars import (
    ALWAYS_OPEN,
    US_PER_MINUTE,
    WEEKDAYS,
    BusinessCalendar,
    Clockwork,
    to_us,
)
from caredesk.domain.cases import CaseStatus
from caredesk.domain.sla import ClockStatus, SlaClock, SlaMetric, on_status

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"]
SWITCHES = [
    datetime(2026, 3, 8, tzinfo=UTC),  # New York springs forward
    datetime(2026, 3, 29, tzinfo=UTC),  # Berlin springs forward
    datetime(2026, 4, 5, tzinfo=UTC),  # Sydney falls back
    datetime(2026, 10, 25, tzinfo=UTC),  # Berlin falls back
    datetime(2026, 11, 1, tzinfo=UTC),  # New York falls back
]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    opening = draw(st.sampled_from(["00:00-04:00", "08:00-12:00", "09:00-17:00", "00:00-24:00"]))
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    base = draw(st.sampled_from(SWITCHES)).date()
    holidays = draw(
        st.lists(st.integers(-3, 10).map(lambda d: base + timedelta(days=d)), max_size=3)
    )
    return BusinessCalendar.build(
        "generated", draw(st.sampled_from(ZONES)), {d: [opening] for d in days}, holidays
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[datetime, list[tuple[str, datetime]]]:
    """A case's start and the status changes that follow it (pending pauses the clocks)."""
    start = draw(st.sampled_from(SWITCHES)) + timedelta(minutes=draw(st.integers(-3000, 3000)))
    moment = start
    events = []
    for status in draw(st.lists(st.sampled_from(["open", "pending"]), max_size=6)):
        moment += timedelta(minutes=draw(st.integers(1, 24 * 60)))
        events.append((status, moment))
    return start, events


def _clock(start: datetime, events: list[tuple[str, datetime]]) -> SlaClock:
    clock = SlaClock(1, SlaMetric.RESOLUTION, started_at=start)
    clock.resume(start)
    status = CaseStatus.OPEN
    for name, at in events:
        after = CaseStatus(name)
        on_status([clock], status, after, at)
        status = after
    return clock


@settings(max_examples=150, deadline=None)
@given(calendars(), histories(), st.integers(1, 3 * 24 * 60))
def test_a_clock_is_due_when_its_running_time_reaches_the_target(
    calendar: BusinessCalendar,
    history: tuple[datetime, list[tuple[str, datetime]]],
    target: int,
) -> None:
    clock = _clock(*history)
    clock.recompute(calendar, 1, target, 75)
    target_us = target * US_PER_MINUTE
    if clock.due_at is None:
        # Paused for good before the target was reached: it never falls due.
        assert clock.running_since is None
        assert clock.elapsed_us < target_us
        return
    assert _measured(clock, calendar, clock.due_at) == target_us
    # The earliest such instant: a microsecond before it, the clock had not run the target.
    assert _measured(clock, calendar, clock.due_at - timedelta(microseconds=1)) < target_us
    assert clock.warn_at is not None and clock.warn_at <= clock.due_at
    assert _measured(clock, calendar, clock.warn_at) == target_us * 75 // 100


def _measured(clock: SlaClock, calendar: Clockwork, until: datetime) -> int:
    """Working time in the clock's spans up to `until`, counted span by span."""
    total = 0
    spans = list(clock.segments)
    if clock.running_since is not None:
        spans.append((clock.running_since, until))
    for start, end in spans:
        end = min(end, until)
        if end > start:
            total += calendar.working_us(to_us(start), to_us(end))
    return total


@settings(max_examples=150, deadline=None)
@given(calendars(), histories(), st.integers(0, 10 * 24 * 60))
def test_a_paused_clock_counts_only_its_running_spans(
    calendar: BusinessCalendar,
    history: tuple[datetime, list[tuple[str, datetime]]],
    later: int,
) -> None:
    clock = _clock(*history)
    clock.recompute(calendar, 1, 60, 75)
    start, events = history
    now = (events[-1][1] if events else start) + timedelta(minutes=later)
    assert clock.elapsed_at(calendar, now) == _measured(clock, calendar, now)


@settings(max_examples=120, deadline=None)
@given(
    calendars(),
    calendars(),
    histories(),
    st.integers(1, 2 * 24 * 60),
    st.integers(1, 2 * 24 * 60),
    st.integers(1, 99),
)
def test_moving_a_case_between_policies_gives_what_the_new_policy_would_have(
    first_calendar: BusinessCalendar,
    second_calendar: BusinessCalendar,
    history: tuple[datetime, list[tuple[str, datetime]]],
    first_target: int,
    second_target: int,
    warn: int,
) -> None:
    moved = _clock(*history)
    moved.recompute(first_calendar, 1, first_target, 75)
    moved.recompute(second_calendar, 2, second_target, warn)
    fresh = _clock(*history)
    fresh.recompute(second_calendar, 2, second_target, warn)
    assert (moved.due_at, moved.warn_at, moved.elapsed_us) == (
        fresh.due_at,
        fresh.warn_at,
        fresh.elapsed_us,
    )


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(1, 3 * 24 * 60))
def test_in_calendar_time_a_running_clock_is_due_target_minutes_of_running_later(
    history: tuple[datetime, list[tuple[str, datetime]]], target: int
) -> None:
    clock = _clock(*history)
    clock.recompute(ALWAYS_OPEN, 1, target, 50)
    if clock.due_at is None:
        return
    assert _measured(clock, ALWAYS_OPEN, clock.due_at) == target * US_PER_MINUTE
    assert clock.status_at(clock.due_at) is ClockStatus.BREACHED
    assert clock.status_at(clock.due_at - timedelta(microseconds=1)) is not ClockStatus.BREACHED


def test_a_pause_over_the_spring_switch_moves_the_due_time_by_working_hours_only() -> None:
    office = BusinessCalendar.build(
        "office", "Europe/Berlin", {d: ["09:00-17:00"] for d in WEEKDAYS[:5]}, ["2026-03-30"]
    )
    # Friday 27 March 2026, 16:00 Berlin (15:00 UTC): one working hour left that day.
    start = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
    clock = SlaClock(1, SlaMetric.FIRST_REPLY, started_at=start)
    clock.resume(start)
    clock.pause(start + timedelta(minutes=30))  # pending on the customer at 16:30
    clock.resume(datetime(2026, 3, 31, 7, 0, tzinfo=UTC))  # they answer Tuesday 09:00 (CEST)
    clock.recompute(office, 1, 120, 75)
    # 30 minutes ran on Friday; Monday is a holiday; 90 more from Tuesday 09:00 CEST.
    assert clock.due_at == datetime(2026, 3, 31, 8, 30, tzinfo=UTC)
    assert clock.warn_at == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)
