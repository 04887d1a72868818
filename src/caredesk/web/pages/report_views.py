"""What the report pages draw from a board: figures as linked tiles, charts with their numbers
in a table, the per-agent table. Every number links to its figure's queue (`cases_url`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from markupsafe import Markup

from caredesk.domain.money import format_money
from caredesk.services.reports.boards import Board
from caredesk.services.reports.ports import Value
from caredesk.services.reports.reports import Figure, Report, cases_url
from caredesk.web.pages import charts

NO_VALUE = "—"


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Tile:
    label: str
    cell: Cell


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    csv_measure: str
    tiles: list[Tile]


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    svg: Markup
    rows: list[tuple[str, Cell]]


Format = Callable[[Value], str]


def count(value: Value) -> str:
    return NO_VALUE if value is None else f"{int(value)}"


def share(value: Value) -> str:
    return NO_VALUE if value is None else f"{float(value):.0%}"


def hours(value: Value) -> str:
    return NO_VALUE if value is None else f"{float(value):.1f} h"


def score(value: Value) -> str:
    return NO_VALUE if value is None else f"{float(value):.2f}"


def _money(currency: str) -> Format:
    return lambda value: NO_VALUE if value is None else format_money(Decimal(str(value)), currency)


# Each section: its title, the measure its CSV link names, and its tiles: the measure, the
# figure's value and how it reads.
SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str, str, str], ...]], ...] = (
    ("Cases", "cases_opened", (
        ("cases_opened", "value", "Opened", "count"),
        ("first_reply_time", "cases", "Answered", "count"),
        ("cases_solved", "value", "Solved", "count"),
        ("cases_reopened", "value", "Reopened", "count"),
        ("reopen_rate", "value", "Reopen rate", "share"),
        ("one_touch_resolution", "value", "One-touch resolution", "share"),
        ("first_contact_resolution", "value", "First-contact resolution", "share"),
    )),
    ("First reply time", "first_reply_time", (
        ("first_reply_time", "median_hours", "Median", "hours"),
        ("first_reply_time", "p90_hours", "90th percentile", "hours"),
        ("first_reply_time", "business_median_hours", "Median, business hours", "hours"),
        ("first_reply_time", "business_p90_hours", "90th percentile, business hours", "hours"),
    )),
    ("Resolution time", "resolution_time", (
        ("resolution_time", "median_hours", "Median", "hours"),
        ("resolution_time", "p90_hours", "90th percentile", "hours"),
        ("resolution_time", "business_median_hours", "Median, business hours", "hours"),
        ("resolution_time", "business_p90_hours", "90th percentile, business hours", "hours"),
    )),
    ("SLA attainment", "sla_attainment", (
        ("sla_attainment", "first_reply_share_met", "First reply targets met", "share"),
        ("sla_attainment", "next_reply_share_met", "Next reply targets met", "share"),
        ("sla_attainment", "resolution_share_met", "Resolution targets met", "share"),
    )),
    ("Satisfaction", "satisfaction", (
        ("satisfaction", "share_positive", "Positive", "share"),
        ("satisfaction", "average_score", "Average score (1-5)", "score"),
        ("satisfaction", "answered", "Responses", "count"),
        ("satisfaction", "response_rate", "Response rate", "share"),
    )),
    ("Escalations and repeat asks", "escalations", (
        ("escalations", "requested", "Escalations", "count"),
        ("escalations", "approved", "Approved", "count"),
        ("escalations", "denied", "Denied", "count"),
        ("approval_wait", "median_hours", "Approvals' wait, median", "hours"),
        ("approval_wait", "p90_hours", "Approvals' wait, 90th percentile", "hours"),
        ("repeat_asks", "asks", "Repeat asks", "count"),
    )),
    ("Grants", "grants", (
        ("grants", "grants", "Grants", "count"),
        ("grants", "cost", "Cost", "money"),
    )),
    ("Service-level mix", "service_level_mix", (
        ("service_level_mix", "level_1", "1 deflected", "count"),
        ("service_level_mix", "level_2", "2 saved the sale", "count"),
        ("service_level_mix", "level_3", "3 invested", "count"),
    )),
)  # fmt: skip


def _formats(currency: str) -> dict[str, Format]:
    return {
        "count": count,
        "share": share,
        "hours": hours,
        "score": score,
        "money": _money(currency),
    }


def _whole(report: Report | None) -> Figure | None:
    """The ungrouped figure of a report; none when nothing of its kind was measured."""
    return report.figures[0] if report and report.figures else None


def _cell(figure: Figure | None, key: str, fmt: Format) -> Cell:
    if figure is None:
        return Cell(NO_VALUE)
    return Cell(fmt(figure.values.get(key)), figure.cases_url)


def sections(board: Board) -> list[Section]:
    """The figures the board read, section by section; a section of measures it did not read
    (an agent's page reads fewer) is left out."""
    formats = _formats(board.currency)
    shown = []
    for title, csv_measure, tiles in SECTIONS:
        present = [t for t in tiles if t[0] in board.totals]
        if not present:
            continue
        cells = [
            Tile(label, _cell(_whole(board.totals[name]), key, formats[kind]))
            for name, key, label, kind in present
        ]
        shown.append(Section(title, csv_measure, cells))
    return shown


def _chart(
    board: Board,
    measure: str,
    group_by: str,
    key: str,
    title: str,
    fmt: Format,
    unit: str = "",
    scale: float = 1.0,
) -> Chart | None:
    report = board.grouped.get((measure, group_by))
    if report is None:
        return None
    figures = _every_day(report) if group_by == "day" else report.figures or []
    points = [
        charts.Point(
            _group_label(board, group_by, f.group), _number(f.values.get(key)) * scale, f.cases_url
        )
        for f in figures
    ]
    if group_by == "day":
        svg = charts.column_chart(points, title=title, unit=unit)
    else:
        points.sort(key=lambda p: -p.value)
        svg = charts.bar_list(points, title=title, unit=unit)
    rows = [
        (_group_label(board, group_by, f.group), Cell(fmt(f.values.get(key)), f.cases_url))
        for f in figures
    ]
    return Chart(title, svg, rows)


def _every_day(report: Report) -> list[Figure]:
    """The figures of every day of the period: the database has none for a day without a
    case, which the chart draws as zero, its count reading 0 and its other figures "—"."""
    by_day = {f.group: f for f in report.figures or []}
    start, days = report.filters.start, report.filters.days
    every = []
    for offset in range(days):
        day = (start + timedelta(days=offset)).isoformat()
        empty = Figure(day, {"cases": 0, "value": 0}, cases_url(report.filters, "day", day))
        every.append(by_day.get(day, empty))
    return every


def _number(value: Value) -> float:
    return 0.0 if value is None else float(value)


def _group_label(board: Board, group_by: str, group: str | None) -> str:
    if group_by == "agent":
        return "Unassigned" if group is None else board.agents.get(int(group), f"Agent {group}")
    if group_by == "remedy":
        return "(no remedy recorded)" if group is None else group
    return group or NO_VALUE


def chart_list(board: Board) -> list[Chart]:
    """The charts of the measures by day and by remedy, each with its numbers."""
    money = _money(board.currency)
    made = [
        _chart(board, "cases_opened", "day", "value", "Cases opened per day", count),
        _chart(
            board, "first_reply_time", "day", "median_hours",
            "First reply time (median hours, by day opened)", hours, " h",
        ),
        _chart(
            board, "resolution_time", "day", "median_hours",
            "Resolution time (median hours, by day opened)", hours, " h",
        ),
        _chart(
            board, "sla_attainment", "day", "first_reply_share_met",
            "First reply targets met (by day opened)", share, "%", 100.0,
        ),
        _chart(
            board, "sla_attainment", "day", "resolution_share_met",
            "Resolution targets met (by day opened)", share, "%", 100.0,
        ),
        _chart(
            board, "satisfaction", "day", "average_score",
            "Satisfaction (average score 1-5, by day opened)", score,
        ),
        _levels(board),
        _chart(board, "grants", "remedy", "grants", "Grants by remedy", count),
        _chart(board, "grants", "remedy", "cost", "Cost of grants by remedy", money),
    ]  # fmt: skip
    return [c for c in made if c is not None]


LEVELS = (("level_1", "1 deflected"), ("level_2", "2 saved the sale"), ("level_3", "3 invested"))


def _levels(board: Board) -> Chart | None:
    """The service-level mix of the solved cases as one bar split in three."""
    figure = _whole(board.totals.get("service_level_mix"))
    if figure is None:
        return None
    points = [
        charts.Point(label, _number(figure.values.get(key)), figure.cases_url)
        for key, label in LEVELS
    ]
    title = "Service level of solved cases"
    rows = [(label, Cell(count(figure.values.get(key)), figure.cases_url)) for key, label in LEVELS]
    return Chart(title, charts.share_bar(points, title=title), rows)


# The per-agent table's columns: the header, the measure grouped by agent, the value, how it reads.
AGENT_COLUMNS = (
    ("First reply, median", "first_reply_time", "median_hours", "hours"),
    ("First reply, 90th pct.", "first_reply_time", "p90_hours", "hours"),
    ("First reply SLA met", "sla_attainment", "first_reply_share_met", "share"),
    ("Resolution SLA met", "sla_attainment", "resolution_share_met", "share"),
    ("Positive", "satisfaction", "share_positive", "share"),
    ("Responses", "satisfaction", "answered", "count"),
    ("Grants", "grants", "grants", "count"),
    ("Grants' cost", "grants", "cost", "money"),
)


def agent_rows(board: Board) -> list[tuple[str, list[Cell]]]:
    """One row per agent any of the per-agent reports names, each cell its figure."""
    formats = _formats(board.currency)
    by_measure: dict[str, dict[str | None, Figure]] = {}
    for _, measure, _, _ in AGENT_COLUMNS:
        report = board.grouped.get((measure, "agent"))
        by_measure[measure] = {f.group: f for f in (report.figures or [])} if report else {}
    groups = {g for figures in by_measure.values() for g in figures}
    ordered = sorted(groups, key=lambda g: (g is None, _group_label(board, "agent", g)))
    return [
        (
            _group_label(board, "agent", group),
            [
                _cell(by_measure[measure].get(group), key, formats[kind])
                for _, measure, key, kind in AGENT_COLUMNS
            ],
        )
        for group in ordered
    ]
