"""First reply and resolution time in business hours: each case's working hours in the
calendar of its SLA policy, counted here from the period's per-case rows (one streamed
statement) with the calendar domain, since working time is no SQL arithmetic. The work is
bounded by the period's cases (at most 366 days of them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime

from caredesk.domain.calendars import Clockwork, working_between
from caredesk.services.reports.ports import CaseMeasures, Value

Calendars = Callable[[int], Clockwork | None]


def _hours(clockwork: Clockwork, start: datetime, end: datetime | None) -> float | None:
    if end is None or end <= start:
        return None if end is None else 0.0
    return round(working_between(clockwork, start, end).total_seconds() / 3600, 4)


def with_business_hours(
    rows: Iterable[CaseMeasures], calendars: Calendars
) -> Iterator[CaseMeasures]:
    """Each row with its working hours, where its case has a calendar."""
    for row in rows:
        clockwork = calendars(row.calendar_id) if row.calendar_id is not None else None
        if clockwork is None:
            yield row
            continue
        yield replace(
            row,
            first_reply_business_hours=_hours(clockwork, row.created_at, row.first_reply_at),
            resolution_business_hours=_hours(clockwork, row.created_at, row.solved_at),
        )


def group_of(row: CaseMeasures, group_by: str | None) -> str | None:
    """The row's group, written as the database writes it in a figure."""
    value = {
        None: None,
        "agent": row.agent_id,
        "team": row.team_id,
        "priority": row.priority,
        "channel": row.channel,
        "day": row.created_at.date().isoformat(),
    }[group_by]
    return None if value is None else str(value)


def percentiles(values: list[float]) -> dict[str, Value]:
    """As adapters/db/reports.py works them out in SQL: the median is the middle value or
    the mean of the middle two, the 90th percentile the value at rank ceil(0.9 n)."""
    ordered, n = sorted(values), len(values)
    if not n:
        return {"business_cases": 0, "business_median_hours": None, "business_p90_hours": None}
    median = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
    return {
        "business_cases": n,
        "business_median_hours": round(median, 4),
        "business_p90_hours": ordered[(9 * n + 9) // 10 - 1],
    }


def business_figures(
    rows: Iterable[CaseMeasures], measure: str, group_by: str | None
) -> dict[str | None, dict[str, Value]]:
    """The business-hours percentiles of a duration measure, by group."""
    by_group: dict[str | None, list[float]] = {}
    for row in rows:
        hours = (
            row.first_reply_business_hours
            if measure == "first_reply_time"
            else row.resolution_business_hours
        )
        values = by_group.setdefault(group_of(row, group_by), [])
        if hours is not None:
            values.append(hours)
    return {group: percentiles(values) for group, values in by_group.items()}
