"""The lead's retention report: did the customers come back after each kind of yes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import Query
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from caredesk.domain.errors import ValidationFailed
from caredesk.services.reports.retention import (
    DEFAULT_WINDOWS,
    NO_REMEDY,
    RetentionReport,
    retention,
)
from caredesk.web.pages import charts
from caredesk.web.pages.common import ReadPage, page_router

router = page_router()
DEFAULT_DAYS = 90


@router.get("/reports/retention")
def retention_page(
    visit: ReadPage,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
    window: Annotated[int, Query(ge=1, le=365)] = DEFAULT_WINDOWS[0],
) -> HTMLResponse:
    first, last, since, until = period(visit.now(), start, end, window)
    report = visit.read(retention, visit.now(), since, until)
    return visit.render(
        "retention.html", report=report, window=window, start=first, end=last,
        no_remedy=NO_REMEDY, charts=_charts(report, window),
    )  # fmt: skip


def period(
    now: datetime, start: date | None, end: date | None, window: int
) -> tuple[date, date, datetime, datetime]:
    """The days asked for (the last 90 by default, both ends included) and the instants
    they run between, in UTC."""
    if window not in DEFAULT_WINDOWS:
        raise ValidationFailed(
            "the window is one of the report's",
            details={"field": "window", "allowed": DEFAULT_WINDOWS},
        )
    last = end or now.astimezone(UTC).date()
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    return first, last, since, until


def _charts(report: RetentionReport, window: int) -> dict[str, Markup]:
    """Bars for the groups large enough to say something; the table has every group."""
    said = [f for f in report.by_remedy(window) if not f.too_small]
    paid = [f for f in said if f.return_per_cost is not None]
    return {
        "share": charts.bar_list(
            [charts.Point(f.remedy, 100 * (f.share.value or 0)) for f in said],
            title=f"Share who ordered again within {window} days",
            unit=" %",
        ),
        "return": charts.bar_list(
            [charts.Point(f.remedy, float(f.return_per_cost or 0)) for f in paid],
            title=f"Spend within {window} days per unit of the remedy's cost",
            fmt=lambda v: f"{v:.2f}",
        ),
    }
