"""Incremental export of tickets: every case from a moment on, in the order it last changed,
paged to the end of the stream by the export cursor the users' export uses too
(incremental.py: the time of the last change and the last id), or by time as Zendesk's older
time-based export pages (node-zendesk's `tickets.incremental` reads only that one)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from caredesk.domain.cases import Case
from caredesk.services.zendesk import case_export
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute
from caredesk.web.zendesk.incremental import (
    EPOCH_MAX,
    EPOCH_MIN,
    PER_PAGE_DEFAULT,
    PER_PAGE_MAX,
    Asked,
    Export,
    decode,
    encode,
    time_page,
)

router = APIRouter(route_class=ZendeskRoute)


def _position(asked: Export) -> tuple[datetime, int]:
    """Where the page starts: the cursor's position, or before any case changed at
    `start_time`."""
    if asked.cursor is not None:
        return decode(asked.cursor)
    assert asked.start_time is not None
    return datetime.fromtimestamp(asked.start_time, UTC), 0


def _page(call: Call, found: list[Case], start: tuple[datetime, int], size: int) -> dict[str, Any]:
    """The page and where the next one starts: past its last ticket, or where this one
    started when it is empty, so that a reader at the end asks again later from there."""
    last = (found[-1].updated_at, found[-1].id or 0) if found else start
    after = encode(*last)
    url = call.request.url.remove_query_params("start_time")
    return {
        "tickets": call.tickets(found),
        "after_url": str(url.include_query_params(cursor=after, per_page=size)),
        "after_cursor": after,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": len(found) < size,
    }


@router.get("/incremental/tickets/cursor.json")
def tickets(call: Call, asked: Asked) -> JSONResponse:
    at, case_id = _position(asked)
    found = call.read(case_export.changed_cases, call.at, at, case_id, asked.per_page)
    return answer(_page(call, found, (at, case_id), asked.per_page))


@router.get("/incremental/tickets.json")
def tickets_by_time(
    call: Call,
    start_time: Annotated[int, Query(ge=EPOCH_MIN, le=EPOCH_MAX)],
    per_page: Annotated[int, Query(ge=1, le=PER_PAGE_MAX)] = PER_PAGE_DEFAULT,
) -> JSONResponse:
    at = datetime.fromtimestamp(start_time, UTC)
    found = call.read(case_export.changed_cases, call.at, at, 0, per_page)
    last = found[-1].updated_at if found else None
    page = time_page(
        call, "tickets", call.tickets(found), last, start_time, per_page, len(found) < per_page
    )
    return answer(page)
