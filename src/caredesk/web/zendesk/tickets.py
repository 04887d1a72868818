"""Tickets: caredesk's cases, with their messages as comments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from caredesk.domain.cases import Message
from caredesk.domain.errors import DomainError, ErrorCode, NotFound
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute, invalid
from caredesk.web.zendesk.paging import CursorPaging, OffsetPaging, Paging

router = APIRouter(route_class=ZendeskRoute)

SHOW_MANY_MAX = 100
OFFSET_MAX = 10_000
# Case ids are integers of the database's 32-bit column: a larger one names no case.
ID_MAX = 2**31 - 1


def _case_id(ticket_id: int) -> int:
    if not 1 <= ticket_id <= ID_MAX:
        raise NotFound("case", ticket_id)
    return ticket_id


def _check_offset(paging: OffsetPaging) -> None:
    """Offset paging reads the same newest-updated-first list from its start; Zendesk stops
    offset paging at 10,000 records too, and past that the cursor pages as deep as wanted."""
    if paging.offset + paging.per_page > OFFSET_MAX:
        raise DomainError(
            f"offset paging stops at {OFFSET_MAX} tickets: page with page[size] and page[after]",
            code=ErrorCode.INVALID_CURSOR,
            details={"field": "page"},
        )


@router.get("/tickets.json")
def list_tickets(call: Call, paging: Paging) -> JSONResponse:
    if isinstance(paging, CursorPaging):
        page = call.read(cases.list_cases, CaseFilter(), paging.size, paging.after)
        links = paging.links(call.request, page.next_cursor)
        return answer({"tickets": call.tickets(page.items), **links})
    _check_offset(paging)
    found = call.read(cases.list_cases, CaseFilter(), paging.offset + paging.per_page, None)
    total = call.read(cases.count_cases, CaseFilter())
    shown = call.tickets(found.items[paging.offset :])
    return answer({"tickets": shown, **paging.links(call.request, total)})


@router.get("/tickets/count.json")
def count(call: Call) -> JSONResponse:
    value = call.read(cases.count_cases, CaseFilter())
    return answer({"count": {"value": value, "refreshed_at": out.iso(call.at)}})


@router.get("/tickets/show_many.json")
def show_many(call: Call, ids: Annotated[str, Query(max_length=4096)] = "") -> JSONResponse:
    try:
        wanted = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        return invalid("ids", "ids are ticket ids separated by commas")
    if len(wanted) > SHOW_MANY_MAX:
        return invalid("ids", f"at most {SHOW_MANY_MAX} ids at once")
    found = call.read(cases.cases_of, {i for i in wanted if 1 <= i <= ID_MAX})
    by_id = {c.id: c for c in found}
    # Zendesk answers the tickets it has, in the order asked, and leaves the others out.
    ordered = [by_id[i] for i in dict.fromkeys(wanted) if i in by_id]
    return answer({"tickets": call.tickets(ordered)})


@router.get("/tickets/{ticket_id}.json")
def show(call: Call, ticket_id: int) -> JSONResponse:
    view = call.read(cases.get_case, _case_id(ticket_id))
    (ticket,) = call.tickets([view.case])
    ticket["description"] = view.messages[0].body if view.messages else None
    return answer({"ticket": ticket})


def _comments_page(
    call: Call, messages: list[Message], paging: OffsetPaging | CursorPaging
) -> tuple[list[Message], dict[str, object]]:
    # A case's messages are read whole (as /api/v1 does); the page is cut from them.
    if isinstance(paging, OffsetPaging):
        page = messages[paging.offset : paging.offset + paging.per_page]
        return page, paging.links(call.request, len(messages))
    after = int(paging.after) if paging.after and paging.after.isdigit() else None
    if paging.after is not None and after is None:
        raise DomainError(
            "page[after] is not a cursor this list gave",
            code=ErrorCode.INVALID_CURSOR,
            details={"field": "page[after]"},
        )
    rest = [m for m in messages if after is None or (m.id or 0) > after]
    page = rest[: paging.size]
    more = len(rest) > paging.size
    return page, paging.links(call.request, str(page[-1].id) if more and page else None)


@router.get("/tickets/{ticket_id}/comments.json")
def comments(call: Call, ticket_id: int, paging: Paging) -> JSONResponse:
    view = call.read(cases.get_case, _case_id(ticket_id))
    messages = sorted(view.messages, key=lambda m: m.id or 0)
    page, links = _comments_page(call, messages, paging)
    ids = call.user_ids([a for a in map(out.author_of, page) if a is not None])
    shown = [out.comment(m, ids, call.base, view.case.channel) for m in page]
    return answer({"comments": shown, **links})
