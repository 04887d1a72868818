"""Search: tickets or users found by a query in Zendesk's language, offset paging to 1000."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from caredesk.domain.agents import Agent
from caredesk.domain.customers import Customer
from caredesk.services.zendesk import search
from caredesk.services.zendesk.ports import UserRef
from caredesk.services.zendesk.query import SearchQuery, check_type, parse
from caredesk.services.zendesk.search import RESULTS_MAX
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute, invalid
from caredesk.web.zendesk.paging import PER_PAGE_DEFAULT, PER_PAGE_MAX, OffsetPaging

router = APIRouter(route_class=ZendeskRoute)

QueryText = Annotated[str, Query(max_length=2000)]
SortBy = Annotated[Literal["relevance", "updated_at", "created_at", "priority", "status"], Query()]
SortOrder = Annotated[Literal["asc", "desc"], Query()]
Results = tuple[list[dict[str, Any]], int]


def _ticket_results(
    call: Call, query: SearchQuery, paging: OffsetPaging, sort_by: str, order: str
) -> Results:
    default = sort_by in ("relevance", "updated_at") and order == "desc"
    # The default order is the case list's, read a page's worth deep; any other order is
    # sorted here from every match up to Zendesk's 1000.
    limit = paging.offset + paging.per_page if default else RESULTS_MAX
    hits = call.read(search.search_tickets, call.at, query, limit)
    found = hits.cases if default else search.sorted_cases(hits.cases, sort_by, order == "desc")
    shown = call.tickets(found[paging.offset : paging.offset + paging.per_page])
    return [{**t, "result_type": "ticket"} for t in shown], hits.count


def _user(person: Agent | Customer, user_id: int, base: str) -> dict[str, Any]:
    if isinstance(person, Agent):
        return {**out.agent_user(person, user_id, base), "result_type": "user"}
    return {**out.customer_user(person, user_id, base), "result_type": "user"}


def _user_results(call: Call, query: SearchQuery, paging: OffsetPaging) -> Results:
    hits = call.read(search.search_users, query)
    people: list[tuple[Agent | Customer, UserRef]] = [
        (a, UserRef.agent(a.id)) for a in hits.agents if a.id is not None
    ]
    people += [(c, UserRef.customer(c.id)) for c in hits.customers]
    page = people[paging.offset : paging.offset + paging.per_page]
    ids = call.user_ids(ref for _, ref in page)
    return [_user(p, ids[ref], call.base) for p, ref in page], hits.count


def _results(call: Call, raw: str, paging: OffsetPaging, sort_by: str, order: str) -> Results:
    query = parse(raw)
    if check_type(query) == "user":
        return _user_results(call, query, paging)
    return _ticket_results(call, query, paging, sort_by, order)


@router.get("/search.json")
def search_results(
    call: Call,
    query: QueryText = "",
    page: Annotated[int, Query(ge=1, le=2**31 - 1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=PER_PAGE_MAX)] = PER_PAGE_DEFAULT,
    sort_by: SortBy = "relevance",
    sort_order: SortOrder = "desc",
) -> JSONResponse:
    paging = OffsetPaging(page, per_page)
    if paging.offset >= RESULTS_MAX:
        return invalid("page", f"search answers at most {RESULTS_MAX} results")
    results, count = _results(call, query, paging, sort_by, sort_order)
    links = paging.links(call.request, min(count, RESULTS_MAX))
    return answer({"results": results, "facets": None, **links, "count": count})


@router.get("/search/count.json")
def search_count(call: Call, query: QueryText = "") -> JSONResponse:
    _, count = _results(call, query, OffsetPaging(1, 1), "relevance", "desc")
    return answer({"count": count})
