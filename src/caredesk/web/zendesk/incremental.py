"""Incremental export of tickets: every case from a moment on, in the order it last changed,
paged by a cursor (paging.stream_cursor) to the end of the stream."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from caredesk.domain.cases import Case
from caredesk.domain.errors import ValidationFailed
from caredesk.services.zendesk import incremental
from caredesk.services.zendesk.ports import UserRef
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute
from caredesk.web.zendesk.paging import read_stream_cursor, stream_cursor

router = APIRouter(route_class=ZendeskRoute)

EXPORT_PER_PAGE = 1000
# Far enough ahead for any clock, short of what a datetime can hold.
EPOCH_MAX = 253_402_300_799


def _position(start_time: int | None, cursor: str | None) -> tuple[datetime, int]:
    """Where the page starts: the cursor's position (it wins over a start_time also sent),
    or just before `start_time`."""
    if cursor is not None:
        at, key = read_stream_cursor(cursor)
        if not key.isdigit():
            raise ValidationFailed(
                "cursor is not one this export gave", details={"field": "cursor"}
            )
        return at, int(key)
    if start_time is None:
        raise ValidationFailed("send start_time or cursor", details={"field": "start_time"})
    return datetime.fromtimestamp(start_time, UTC), 0


def _page(call: Call, found: list[Case], at: datetime, case_id: int, size: int) -> dict[str, Any]:
    """The page and where the next one starts: past its last ticket, or where this one
    started when it is empty, so that a reader at the end asks again later from there."""
    last = found[-1] if found else None
    after = stream_cursor(last.updated_at, last.id or 0) if last else stream_cursor(at, case_id)
    url = call.request.url.remove_query_params("start_time")
    return {
        "tickets": _tickets(call, found),
        "after_url": str(url.include_query_params(cursor=after, per_page=size)),
        "after_cursor": after,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": len(found) < size,
    }


def _tickets(call: Call, found: list[Case]) -> list[dict[str, object]]:
    refs = [UserRef.customer(c.customer_id) for c in found]
    ids = call.user_ids(refs + [UserRef.agent(c.assignee_id) for c in found if c.assignee_id])
    return [out.ticket(c, ids, call.base) for c in found]


@router.get("/incremental/tickets/cursor.json")
def tickets(
    call: Call,
    start_time: Annotated[int | None, Query(ge=0, le=EPOCH_MAX)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    per_page: Annotated[int, Query(ge=1, le=EXPORT_PER_PAGE)] = EXPORT_PER_PAGE,
) -> JSONResponse:
    at, case_id = _position(start_time, cursor)
    found = call.read(incremental.changed_cases, call.at, at, case_id, per_page)
    return answer(_page(call, found, at, case_id, per_page))
