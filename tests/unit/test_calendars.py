"""Business-hour arithmetic: DST switches, holidays, and agreement with a minute-by-minute count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caredesk.domain.calendars import (
    ALWAYS_OPEN,
    US_PER_MINUTE,
    WEEKDAYS,
    BusinessCalendar,
    InvalidCalendar,
    add_working,
    from_us,
    to_us,
    working_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAY_HOURS = {day: ["09:00-17:00"] for day in WEEKDAYS[:5]}


def office(tz: str = "Europe/Berlin", holidays: tuple[str, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar.build("office", tz, WEEKDAY_HOURS, holidays)


def night_shift(tz: str) -> BusinessCalendar:
    return BusinessCalendar.build("night", tz, {day: ["00:00-04:00"] for day in WEEKDAYS})


def test_an_hour_of_work_spans_the_weekend() -> None:
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=BERLIN)
    assert add_working(office(), friday, timedelta(hours=2)) == datetime(
        2026, 3, 9, 10, 0, tzinfo=BERLIN
    )


def test_a_holiday_is_skipped() -> None:
    friday = datetime(2026, 12, 24, 16, 0, tzinfo=BERLIN)
    calendar = office(holidays=("2026-12-25",))
    # Thursday 24th 16:00 + 2 h: one hour on the 24th, Friday 25th closed, Monday 28th 10:00.
    assert add_working(calendar, friday, timedelta(hours=2)) == datetime(
        2026, 12, 28, 10, 0, tzinfo=BERLIN
    )


@pytest.mark.parametrize(
    ("tz", "night", "hours"),
    [
        ("America/New_York", date(2026, 3, 8), 3),  # spring forward: 02:00 → 03:00
        ("America/New_York", date(2026, 11, 1), 5),  # fall back: 02:00 → 01:00
        ("Europe/Berlin", date(2026, 3, 29), 3),
        ("Europe/Berlin", date(2026, 10, 25), 5),
        ("Europe/Berlin", date(2026, 6, 7), 4),
    ],
)
def test_a_night_on_which_the_clocks_change_is_as_long_as_it_really_is(
    tz: str, night: date, hours: int
) -> None:
    calendar = night_shift(tz)
    start = datetime(night.year, night.month, night.day, tzinfo=ZoneInfo(tz))
    end = start + timedelta(days=1)
    assert working_between(calendar, start, end) == timedelta(hours=hours)


def test_a_due_time_after_the_spring_switch_keeps_local_office_hours() -> None:
    # Friday before the switch (UTC+1) + 2 working hours → Monday after it (UTC+2), 10:00 local.
    friday = datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN)
    due = add_working(office(), friday, timedelta(hours=2))
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 30, 10, 0)
    assert due.astimezone(BERLIN).utcoffset() == timedelta(hours=2)


def test_a_time_the_clocks_skip_opens_when_they_jump() -> None:
    calendar = BusinessCalendar.build("odd", "America/New_York", {"sun": ["02:30-05:00"]})
    [(start, end)] = calendar.intervals_on(date(2026, 3, 8))
    assert from_us(start).astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 0)
    assert end - start == 2 * 60 * US_PER_MINUTE


@pytest.mark.parametrize(
    ("hours", "timezone", "field"),
    [
        ({"mon": ["09:00-13:00", "12:00-17:00"]}, "Europe/Berlin", "hours.mon"),
        ({"mon": ["17:00-09:00"]}, "Europe/Berlin", "hours.mon"),
        ({"mon": ["9-5"]}, "Europe/Berlin", "hours.mon"),
        ({"mon": ["09:00-24:30"]}, "Europe/Berlin", "hours.mon"),
        ({"funday": ["09:00-17:00"]}, "Europe/Berlin", "hours"),
        ({}, "Europe/Berlin", "hours"),
        ({"mon": ["09:00-17:00"]}, "Mars/Olympus_Mons", "timezone"),
        ({"mon": ["09:00-17:00"]}, "../../etc/passwd", "timezone"),
    ],
)
def test_an_invalid_calendar_is_refused_with_the_field(
    hours: dict[str, list[str]], timezone: str, field: str
) -> None:
    with pytest.raises(InvalidCalendar) as refused:
        BusinessCalendar.build("bad", timezone, hours)
    assert refused.value.code.value == "invalid_calendar"
    assert refused.value.details["field"] == field


def test_a_bad_holiday_is_refused() -> None:
    with pytest.raises(InvalidCalendar):
        BusinessCalendar.build("bad", "UTC", WEEKDAY_HOURS, ["25/12/2026"])


# -- properties ------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
# Boundaries outside 01:00-03:00 local, where clocks change: there, "the first occurrence" is a
# choice the minute-by-minute reference below does not make.
BOUNDARY_MINUTES = [0, *range(3 * 60, 24 * 60 + 1, 30)]
# Windows that contain a switch in one of the zones.
SWITCHES = [
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 4, 5, tzinfo=UTC),
    datetime(2026, 10, 4, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    hours: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        points = sorted(
            set(draw(st.lists(st.sampled_from(BOUNDARY_MINUTES), min_size=0, max_size=4)))
        )
        spans = [(a, b) for a, b in zip(points[::2], points[1::2], strict=False) if b > a]
        hours[day] = [f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in spans]
    if not any(hours.values()):
        hours["wed"] = ["09:00-17:00"]
    base = draw(st.sampled_from(SWITCHES)).date()
    holidays = draw(
        st.lists(st.integers(-4, 4).map(lambda d: base + timedelta(days=d)), max_size=3)
    )
    return BusinessCalendar.build("generated", draw(st.sampled_from(ZONES)), hours, holidays)


def instants(around: list[datetime] = SWITCHES) -> st.SearchStrategy[datetime]:
    return st.builds(
        lambda base, minutes: base + timedelta(minutes=minutes),
        st.sampled_from(around),
        st.integers(-4 * 24 * 60, 4 * 24 * 60),
    )


def reference_minutes(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Working minutes counted one UTC minute at a time through the local wall clock."""
    tz = ZoneInfo(calendar.timezone)
    count = 0
    moment = start
    while moment < end:
        local = moment.astimezone(tz)
        minute = local.hour * 60 + local.minute
        if local.date() not in calendar.holidays and any(
            a <= minute < b for a, b in calendar.week[local.weekday()]
        ):
            count += 1
        moment += timedelta(minutes=1)
    return count


@settings(max_examples=60, deadline=None)
@given(calendars(), instants(), st.integers(0, 3 * 24 * 60))
def test_working_time_agrees_with_counting_minutes(
    calendar: BusinessCalendar, start: datetime, length: int
) -> None:
    end = start + timedelta(minutes=length)
    expected = reference_minutes(calendar, start, end)
    assert calendar.working_us(to_us(start), to_us(end)) == expected * US_PER_MINUTE


@settings(max_examples=200, deadline=None)
@given(calendars(), instants(), instants(), instants())
def test_working_time_adds_up(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    first, second = to_us(a), to_us(b)
    third = to_us(c)
    whole = calendar.working_us(first, third)
    assert whole == calendar.working_us(first, second) + calendar.working_us(second, third)
    assert 0 <= whole <= third - first


@settings(max_examples=200, deadline=None)
@given(calendars(), instants(), st.integers(0, 200 * 60 * US_PER_MINUTE))
def test_adding_working_time_is_the_inverse_of_measuring_it(
    calendar: BusinessCalendar, start: datetime, amount: int
) -> None:
    begin = to_us(start)
    due = calendar.add_working_us(begin, amount)
    assert calendar.working_us(begin, due) == amount
    # ...and it is the earliest such instant: a microsecond earlier is not enough.
    if amount > 0:
        assert calendar.working_us(begin, due - 1) == amount - 1


@settings(max_examples=100, deadline=None)
@given(calendars(), instants(), st.integers(0, 50 * 60), st.integers(0, 50 * 60))
def test_adding_in_two_steps_is_adding_once(
    calendar: BusinessCalendar, start: datetime, first: int, second: int
) -> None:
    begin = to_us(start)
    step = calendar.add_working_us(begin, first * US_PER_MINUTE)
    once = calendar.add_working_us(begin, (first + second) * US_PER_MINUTE)
    if second > 0:
        assert calendar.add_working_us(step, second * US_PER_MINUTE) == once


def test_always_open_is_calendar_time() -> None:
    start = datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert working_between(ALWAYS_OPEN, start, start + timedelta(hours=30)) == timedelta(hours=30)
    assert add_working(ALWAYS_OPEN, start, timedelta(minutes=5)) == start + timedelta(minutes=5)


def test_a_calendar_far_from_its_first_use_extends_its_timeline() -> None:
    calendar = office()
    assert working_between(
        calendar, datetime(2026, 3, 2, 9, tzinfo=BERLIN), datetime(2026, 3, 2, 10, tzinfo=BERLIN)
    ) == timedelta(hours=1)
    assert working_between(
        calendar, datetime(2030, 3, 4, 9, tzinfo=BERLIN), datetime(2030, 3, 4, 10, tzinfo=BERLIN)
    ) == timedelta(hours=1)
    assert working_between(
        calendar, datetime(2020, 3, 2, 9, tzinfo=BERLIN), datetime(2020, 3, 2, 10, tzinfo=BERLIN)
    ) == timedelta(hours=1)
