"""Business-hour calendars: a time zone, weekly opening hours and holidays.

Arithmetic runs on integer microseconds since the epoch (UTC), so it is exact. Each local
opening interval is turned into a UTC interval through zoneinfo on the day it falls, so a
day on which the clocks change is as long as it really is: an interval 00:00-04:00 lasts
three hours on the spring-forward night and five on the fall-back night. A local time the
clocks skip maps to the moment they jump (the office opens when the clock first shows a
time at or after its opening); a local time that happens twice means its first occurrence.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caredesk.domain.errors import DomainError, ErrorCode

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# Days of intervals computed at first use; the timeline grows as far as it is asked.
_CHUNK_DAYS = 42


class InvalidCalendar(DomainError):
    code = ErrorCode.INVALID_CALENDAR


def to_us(instant: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime given where an aware one is required")
    return (instant - _EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class Clockwork(Protocol):
    """What SLA clocks need from a calendar: how much working time lies between instants."""

    def working_us(self, start: int, end: int) -> int: ...

    def add_working_us(self, start: int, amount: int) -> int: ...


class AlwaysOpen:
    """Calendar time: every microsecond counts."""

    def working_us(self, start: int, end: int) -> int:
        return max(0, end - start)

    def add_working_us(self, start: int, amount: int) -> int:
        return start + max(0, amount)


ALWAYS_OPEN = AlwaysOpen()


def _parse_span(text: str, day: str) -> tuple[int, int]:
    match = _SPAN.match(text)
    if match is None:
        raise InvalidCalendar(
            f"{day}: {text!r} is not a span like '09:00-17:00'",
            details={"field": f"hours.{day}", "value": text},
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > MINUTES_PER_DAY or h2 > 24:
        raise InvalidCalendar(
            f"{day}: {text!r} is not a time of day (00:00 to 24:00)",
            details={"field": f"hours.{day}", "value": text},
        )
    if end <= start:
        raise InvalidCalendar(
            f"{day}: {text!r} ends before it starts",
            details={"field": f"hours.{day}", "value": text},
        )
    return start, end


def format_span(span: tuple[int, int]) -> str:
    (h1, m1), (h2, m2) = divmod(span[0], 60), divmod(span[1], 60)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def parse_hours(hours: Mapping[str, Sequence[str]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """`{"mon": ["09:00-12:00", "13:00-17:00"], ...}` as minutes of the day, per weekday."""
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise InvalidCalendar(
            f"unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}",
            details={"field": "hours", "value": unknown[0]},
        )
    week: list[tuple[tuple[int, int], ...]] = []
    for day in WEEKDAYS:
        spans = sorted(_parse_span(text, day) for text in hours.get(day, ()))
        for before, after in itertools.pairwise(spans):
            if after[0] < before[1]:
                raise InvalidCalendar(
                    f"{day}: {format_span(before)} and {format_span(after)} overlap",
                    details={
                        "field": f"hours.{day}",
                        "value": [format_span(before), format_span(after)],
                    },
                )
        week.append(tuple(spans))
    if not any(week):
        raise InvalidCalendar(
            "a calendar needs opening hours on at least one weekday", details={"field": "hours"}
        )
    return tuple(week)


def zone(name: str) -> ZoneInfo:
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidCalendar(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')",
            details={"field": "timezone", "value": name},
        ) from exc


@dataclass(slots=True)
class _Timeline:
    """Every opening interval of a range of local days as sorted UTC microseconds."""

    first_day: date
    last_day: date  # inclusive
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    before: list[int] = field(default_factory=list)  # working time before each interval
    through: list[int] = field(default_factory=list)  # working time to each interval's end


@dataclass(slots=True, eq=False)
class BusinessCalendar:
    """Weekly opening hours in a time zone, closed on holidays (local dates)."""

    name: str
    timezone: str
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()
    id: int | None = None
    version: int = 1
    _zone: ZoneInfo | None = field(default=None, repr=False)
    _timeline: _Timeline | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.name = " ".join(self.name.split())
        if not self.name or len(self.name) > 100:
            raise InvalidCalendar(
                "a calendar needs a name of at most 100 characters", details={"field": "name"}
            )
        self._zone = zone(self.timezone)
        if len(self.week) != 7 or not any(self.week):
            raise InvalidCalendar(
                "a calendar needs opening hours on at least one weekday",
                details={"field": "hours"},
            )

    @classmethod
    def build(
        cls,
        name: str,
        timezone: str,
        hours: Mapping[str, Sequence[str]],
        holidays: Iterable[date | str] = (),
        *,
        id: int | None = None,
        version: int = 1,
    ) -> BusinessCalendar:
        days: set[date] = set()
        for item in holidays:
            if isinstance(item, date):
                days.add(item)
                continue
            try:
                days.add(date.fromisoformat(str(item)))
            except ValueError as exc:
                raise InvalidCalendar(
                    f"holiday {item!r} is not a date like 2026-12-25",
                    details={"field": "holidays", "value": str(item)},
                ) from exc
        return cls(
            name=name,
            timezone=timezone,
            week=parse_hours(hours),
            holidays=frozenset(days),
            id=id,
            version=version,
        )

    @property
    def hours(self) -> dict[str, list[str]]:
        return {
            day: [format_span(s) for s in spans]
            for day, spans in zip(WEEKDAYS, self.week, strict=False)
        }

    def definition(self) -> tuple[object, ...]:
        """What the arithmetic depends on: equal definitions give equal answers."""
        return (self.timezone, self.week, tuple(sorted(self.holidays)))

    # -- local time to UTC ------------------------------------------------------------------

    def _instant(self, day: date, minute: int) -> int:
        if minute >= MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
        tz = self._zone
        assert tz is not None
        wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
        first = to_us(wall.replace(tzinfo=tz))
        if datetime.fromtimestamp(first / US_PER_SECOND, tz).replace(tzinfo=None) == wall:
            return first
        # The clocks skip this time: the first instant whose local time is at or after it.
        other = to_us(wall.replace(tzinfo=tz, fold=1))
        low, high = min(first, other) // US_PER_SECOND, max(first, other) // US_PER_SECOND
        while low < high:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle + 1
        return low * US_PER_SECOND

    def intervals_on(self, day: date) -> list[tuple[int, int]]:
        """The day's opening hours as UTC microsecond intervals (empty on a holiday)."""
        if day in self.holidays:
            return []
        spans = []
        for start, end in self.week[day.weekday()]:
            begin, finish = self._instant(day, start), self._instant(day, end)
            if finish > begin:
                spans.append((begin, finish))
        return spans

    def local_day(self, instant: int) -> date:
        assert self._zone is not None
        return datetime.fromtimestamp(instant // US_PER_SECOND, self._zone).date()

    # -- the timeline -----------------------------------------------------------------------

    def _build(self, first_day: date, last_day: date) -> _Timeline:
        timeline = _Timeline(first_day, last_day)
        total = 0
        day = first_day
        while day <= last_day:
            for begin, finish in self.intervals_on(day):
                if timeline.ends and begin < timeline.ends[-1]:
                    # Only where a fall-back night folds one day's last hours onto the next
                    # day's first: count the shared stretch once.
                    begin = timeline.ends[-1]
                    if finish <= begin:
                        continue
                timeline.starts.append(begin)
                timeline.ends.append(finish)
                timeline.before.append(total)
                total += finish - begin
                timeline.through.append(total)
            day += timedelta(days=1)
        return timeline

    def _covering(self, *instants: int) -> _Timeline:
        days = [self.local_day(i) for i in instants]
        low, high = min(days) - timedelta(days=1), max(days) + timedelta(days=1)
        timeline = self._timeline
        if timeline is None or low < timeline.first_day or high > timeline.last_day:
            if timeline is not None:
                # Grow by at least the current span, so rebuilding stays cheap in total.
                span = timeline.last_day - timeline.first_day
                if low < timeline.first_day:
                    low = min(low, timeline.first_day - span)
                if high > timeline.last_day:
                    high = max(high, timeline.last_day + span)
                low, high = min(low, timeline.first_day), max(high, timeline.last_day)
            timeline = self._build(low, max(high, low + timedelta(days=_CHUNK_DAYS)))
            self._timeline = timeline
        return timeline

    def _position(self, timeline: _Timeline, instant: int) -> int:
        """Working time from the start of the timeline to `instant`."""
        index = bisect_right(timeline.starts, instant) - 1
        if index < 0:
            return 0
        return timeline.before[index] + min(instant, timeline.ends[index]) - timeline.starts[index]

    def working_us(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        timeline = self._covering(start, end)
        return self._position(timeline, end) - self._position(timeline, start)

    def add_working_us(self, start: int, amount: int) -> int:
        """The instant at which `amount` of working time has passed since `start`."""
        if amount <= 0:
            return start
        # Guess a horizon generously, then widen it until the timeline holds the answer.
        horizon = start + max(amount * 4, 14 * 24 * 3600 * US_PER_SECOND)
        while True:
            timeline = self._covering(start, horizon)
            goal = self._position(timeline, start) + amount
            index = bisect_left(timeline.through, goal)
            if index < len(timeline.through) and timeline.starts[index] <= horizon:
                return timeline.starts[index] + goal - timeline.before[index]
            horizon = start + (horizon - start) * 2

    def is_open(self, instant: int) -> bool:
        timeline = self._covering(instant)
        index = bisect_right(timeline.starts, instant) - 1
        return index >= 0 and instant < timeline.ends[index]


def working_between(calendar: Clockwork, start: datetime, end: datetime) -> timedelta:
    return timedelta(microseconds=calendar.working_us(to_us(start), to_us(end)))


def add_working(calendar: Clockwork, start: datetime, amount: timedelta) -> datetime:
    return from_us(calendar.add_working_us(to_us(start), amount // timedelta(microseconds=1)))
