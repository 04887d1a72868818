"""Reports over HTTP: the catalogue of measures, one measure's figures as JSON, and the cases
behind them as CSV, one row per case, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from caredesk.services.reports import reports
from caredesk.services.reports.filters import ReportFilter, parse_filters
from caredesk.services.reports.ports import CaseMeasures
from caredesk.web.api.common import ApiCall, Call
from caredesk.web.api.schemas.reports import CatalogueOut, ReportOut

router = APIRouter(tags=["reports"])

CSV_SUFFIX = ".csv"
CSV_COLUMNS = (
    "case_id", "created_at", "solved_at", "status", "priority", "channel", "team_id",
    "agent_id", "first_reply_hours", "resolution_hours", "agent_replies", "reopened",
    "one_touch", "first_contact", "service_level", "first_reply_business_hours",
    "resolution_business_hours",
)  # fmt: skip
Param = Annotated[str | None, Query(max_length=64)]


def report_filters(
    call: Call,
    start: Annotated[str | None, Query(max_length=10, description="First day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(max_length=10, description="Last day, YYYY-MM-DD")] = None,
    team: Param = None,
    agent: Param = None,
    channel: Param = None,
    priority: Param = None,
    tag: Param = None,
    remedy: Param = None,
) -> ReportFilter:
    """The filters as the query string gives them; an unknown parameter is refused too."""
    given = {k: v for k, v in call.request.query_params.items() if k not in ("group_by", "format")}
    return parse_filters(given, call.now().date())


Filters = Annotated[ReportFilter, Depends(report_filters)]


@router.get("/reports")
def list_measures(call: Call) -> CatalogueOut:
    return CatalogueOut.of(call.read(reports.catalogue))


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or with .csv or format=csv the cases"}
}


@router.get("/reports/{measure}", response_model=ReportOut, responses=CSV_RESPONSE)
def read_report(
    measure: Annotated[str, Path(max_length=80)],
    call: Call,
    filters: Filters,
    group_by: Annotated[str | None, Query(max_length=20)] = None,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
) -> StreamingResponse | ReportOut:
    if measure.endswith(CSV_SUFFIX) or format == "csv":
        return _csv(call, measure.removesuffix(CSV_SUFFIX), filters)
    return ReportOut.of(call.read(reports.report, call.now(), measure, filters, group_by))


def _csv(call: ApiCall, measure: str, filters: ReportFilter) -> StreamingResponse:
    """Every case behind the measure, with its measures; refusals come before the first row."""
    reports.measure_named(measure)
    scoped = call.read(reports.scope, filters)
    rows = call.read(reports.case_rows, call.now(), scoped)
    name = f"{measure}-{scoped.start.isoformat()}-{scoped.end.isoformat()}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(csv_lines(rows), media_type="text/csv", headers=headers)


def csv_lines(rows: Iterable[CaseMeasures]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(_cells(row))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _cells(row: CaseMeasures) -> list[object]:
    flags = (row.reopened, row.one_touch, row.first_contact)
    business = (row.first_reply_business_hours, row.resolution_business_hours)
    return [
        row.case_id,
        row.created_at.isoformat(),
        row.solved_at.isoformat() if row.solved_at else "",
        row.status,
        row.priority,
        row.channel,
        "" if row.team_id is None else row.team_id,
        "" if row.agent_id is None else row.agent_id,
        "" if row.first_reply_hours is None else row.first_reply_hours,
        "" if row.resolution_hours is None else row.resolution_hours,
        row.agent_replies,
        *(int(flag) for flag in flags),
        "" if row.service_level is None else row.service_level,
        *("" if h is None else h for h in business),
    ]
