"""The report pages: the lead's dashboard of every measure (`/reports`, where the old
`/dashboard` leads), an agent's own page (`/me/reports`), and the CSV of the cases behind a
view, read with the console's session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from caredesk.domain.agents import Actor
from caredesk.domain.cases import Channel, Priority
from caredesk.domain.errors import ValidationFailed
from caredesk.services.reports import reports
from caredesk.services.reports.boards import Board, my_board, team_board
from caredesk.services.reports.filters import ReportFilter, parse_filters
from caredesk.services.reports.unit import ReportsUnit
from caredesk.web.api.reports import csv_lines
from caredesk.web.pages import report_views
from caredesk.web.pages.common import PageVisit, ReadPage, page_router, redirect

router = page_router()
BoardOf = Callable[[ReportsUnit, Actor, datetime, ReportFilter], Board]


def _filters(visit: PageVisit) -> ReportFilter:
    """The filters in the URL; a GET form sends its empty fields too, which mean no filter."""
    given = {k: v for k, v in visit.request.query_params.items() if v != ""}
    return parse_filters(given, visit.now().date())


def _page(visit: PageVisit, board_of: BoardOf, team_view: bool) -> HTMLResponse:
    """A report page, or, for filters it cannot read, the refusal with what is allowed (400)."""
    common: dict[str, Any] = {
        "team_view": team_view,
        "action": "/reports" if team_view else "/me/reports",
        "asked": dict(visit.request.query_params),
        "channels": [c.value for c in Channel],
        "priorities": [p.value for p in Priority],
    }
    try:
        board = visit.read(board_of, visit.now(), _filters(visit))
    except ValidationFailed as exc:
        return visit.render("reports.html", refused=exc, status_code=400, **common)
    return visit.render(
        "reports.html",
        board=board,
        query=board.filters.query_string(),
        sections=report_views.sections(board),
        charts=report_views.chart_list(board),
        agent_columns=[c[0] for c in report_views.AGENT_COLUMNS],
        agent_rows=report_views.agent_rows(board) if team_view else [],
        currency=board.currency,
        **common,
    )


@router.get("/reports")
def team_reports(visit: ReadPage) -> HTMLResponse:
    return _page(visit, team_board, team_view=True)


@router.get("/dashboard")
def old_dashboard(
    visit: ReadPage, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> RedirectResponse:
    """The manager's dashboard of old, now /reports: a bookmark opens the same last `days`.
    A 303, not a permanent redirect, which a browser would keep with today's dates."""
    end = visit.now().date()
    start = end - timedelta(days=days - 1)
    return redirect(f"/reports?start={start.isoformat()}&end={end.isoformat()}")


@router.get("/me/reports")
def my_reports(visit: ReadPage) -> HTMLResponse:
    return _page(visit, my_board, team_view=False)


@router.get("/reports/{measure}.csv")
def report_csv(measure: Annotated[str, Path(max_length=80)], visit: ReadPage) -> StreamingResponse:
    """The API's CSV under the page's session: one row per case behind the view's figures."""
    reports.measure_named(measure)
    scoped = visit.read(reports.scope, _filters(visit))
    # The rows stream after the page's read-only unit has closed: they read in their own.
    rows = reports.case_rows(visit.container.uow.read_only(), visit.acting_as, visit.now(), scoped)
    name = f"{measure}-{scoped.start.isoformat()}-{scoped.end.isoformat()}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(csv_lines(rows), media_type="text/csv", headers=headers)
