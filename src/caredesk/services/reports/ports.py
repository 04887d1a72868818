"""What the reports read from storage: grouped figures and per-case rows, both worked out by
the database over the cases the filters select."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from caredesk.services.reports.filters import ReportFilter
from caredesk.services.reports.measures import Kind

# Counts whole, shares and hours as floats, money as Decimal; None where nothing was measured.
Value = int | float | Decimal | None


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One group's figures (`group` None when not grouped, or for the cases without one:
    unassigned, no team), by the names docs/reporting.md lists for the measure's kind."""

    group: str | None
    values: dict[str, Value]


@dataclass(frozen=True, slots=True)
class CaseMeasures:
    """One case of the period with its own measures: a row of the CSV export."""

    case_id: int
    created_at: datetime
    solved_at: datetime | None
    status: str
    priority: str
    channel: str
    team_id: int | None
    agent_id: int | None
    first_reply_hours: float | None
    resolution_hours: float | None
    agent_replies: int
    reopened: bool
    one_touch: bool
    first_contact: bool
    service_level: int | None
    first_reply_at: datetime | None = None
    # The business calendar of the case's SLA policy (its first clock's), if it has one, and
    # the working hours in it (worked out as the case changes: adapters/db/case_facts.py).
    calendar_id: int | None = None
    first_reply_business_hours: float | None = None
    resolution_business_hours: float | None = None


class ReportQueries(Protocol):
    def figures(self, kind: Kind, filters: ReportFilter, group_by: str | None) -> list[FigureRow]:
        """The figures of one kind of measure, by group, in a bounded number of statements."""
        ...

    def case_rows(self, filters: ReportFilter) -> Iterator[CaseMeasures]:
        """Every case the filters select, oldest first, with its measures: one statement,
        read as it streams."""
        ...


class HasReports(Protocol):
    @property
    def reports(self) -> ReportQueries: ...
