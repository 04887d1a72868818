"""Queues: my cases, unassigned, team, all open; filters, saved views, bulk actions, live counts."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import Form, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from caredesk.bootstrap import Container
from caredesk.domain.agents import Actor
from caredesk.domain.cases import CaseStatus
from caredesk.domain.errors import DomainError, ValidationFailed
from caredesk.services.console import console, pages
from caredesk.services.reports.filters import NARROWING_KEYS
from caredesk.web.deps import ContainerDep
from caredesk.web.pages.common import (
    PageVisit,
    Reader,
    ReadPage,
    WritePage,
    Writer,
    page_router,
    redirect,
)

router = page_router()

PAGE_SIZE = 50
VIEWS_COOKIE = "caredesk_views"
MAX_VIEWS = 20
VIEW_KEYS = ("view", "status", "tag", "q", "team", "sort", *NARROWING_KEYS)
LIVE_STREAM_SECONDS = 300.0
# A comment line this often keeps proxies from closing a quiet stream.
LIVE_HEARTBEAT_SECONDS = 15.0
VIEW_TITLES = {
    "mine": "My cases",
    "unassigned": "Unassigned",
    "team": "My team",
    "open": "All open",
    "all": "Everything",
    "breaching": "Breaching soon",
}


def saved_views(request: Request) -> list[dict[str, str]]:
    """Saved views live in a cookie: a named query string per view, checked on every read."""
    raw = request.cookies.get(VIEWS_COOKIE)
    if not raw:
        return []
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return []
    views = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict):
            continue
        name, qs = item.get("name"), item.get("qs")
        if isinstance(name, str) and isinstance(qs, str) and 0 < len(name) <= 40:
            clean = urlencode([(k, v) for k, v in parse_qsl(qs) if k in VIEW_KEYS])
            views.append({"name": name, "qs": clean})
    return views[:MAX_VIEWS]


def _views_cookie(request: Request, response: Response, views: list[dict[str, str]]) -> None:
    value = base64.urlsafe_b64encode(json.dumps(views).encode()).decode()
    response.set_cookie(
        VIEWS_COOKIE,
        value,
        max_age=365 * 86400,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.app.state.container.settings.cookies_secure,
    )


@router.get("/queue")
def queue_page(
    visit: ReadPage,
    view: Annotated[str, Query(max_length=20)] = "mine",
    status: Annotated[list[str] | None, Query(max_length=20)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    team: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    sort: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    shown = visit.request.query_params.multi_items()
    narrow = {k: v for k, v in shown if k in NARROWING_KEYS}  # a report's drill-down
    query = pages.queue_query(view, status or [], tag, q, team, sort, narrow)
    return _queue(visit, query, shown, cursor=cursor)


@router.post("/queue/bulk")
def bulk(
    visit: WritePage,
    action: Annotated[str, Form(max_length=20)],
    cases: Annotated[list[str] | None, Form()] = None,
    assignee: Annotated[str, Form(max_length=20)] = "",
    tag: Annotated[str, Form(max_length=64)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    items = pages.bulk_selection(cases or [])
    results = console.bulk_update(
        visit.container.uow,
        visit.who.actor,
        visit.now(),
        items,
        action,
        assignee_id=int(assignee) if assignee.isdigit() else None,
        tag=tag or None,
    )
    params = dict(parse_qsl(back)) if back else {}
    query = pages.queue_query_of(params)
    shown = list(params.items())
    return _queue(visit, query, shown, results, push_url="/queue?" + back)


def _queue(
    visit: PageVisit,
    query: console.QueueQuery,
    shown: list[tuple[str, str]],
    bulk_results: list[console.BulkResult] | None = None,
    *,
    cursor: str | None = None,
    push_url: str | None = None,
) -> HTMLResponse:
    """A queue page: the cases, the counts, the saved views, and what a bulk action did."""
    result = visit.read(console.queue, query, PAGE_SIZE, cursor, visit.now())
    return visit.render(
        "queue.html",
        q=result,
        counts=result.counts,
        title=VIEW_TITLES.get(query.view, "Queue"),
        statuses=list(CaseStatus),
        views=saved_views(visit.request),
        current_qs=urlencode([(k, v) for k, v in shown if k in VIEW_KEYS and v]),
        bulk_results=bulk_results,
        push_url=push_url,
    )


@router.post("/queue/views")
def save_view(
    request: Request,
    who: Writer,
    name: Annotated[str, Form(max_length=40)],
    qs: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    name = name.strip()
    if not name:
        raise ValidationFailed("give the view a name", details={"field": "name"})
    views = [v for v in saved_views(request) if v["name"] != name]
    views.append({"name": name, "qs": qs})
    response = redirect(f"/queue?{qs}" if qs else "/queue", "view_saved")
    _views_cookie(request, response, views[-MAX_VIEWS:])
    return response


@router.post("/queue/views/delete")
def delete_view(
    request: Request, who: Writer, name: Annotated[str, Form(max_length=40)]
) -> Response:
    response = redirect("/queue", "view_deleted")
    _views_cookie(request, response, [v for v in saved_views(request) if v["name"] != name])
    return response


@router.get("/queue/counts")
def counts(visit: ReadPage) -> Response:
    state = visit.read(console.live_state, None)
    return Response(
        json.dumps({"stamp": state.stamp, "counts": asdict(state.counts)}),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/events")
async def events(who: Reader, container: ContainerDep) -> StreamingResponse:
    """Server-sent events: the queue counts whenever a case or an approval changes.

    Each stream reads a cheap change stamp, and its agent's counts when the stamp moved: on
    PostgreSQL when the process's one listener hears that a change committed, on SQLite (or
    while that listener is down) every few seconds. Either works behind any balancer with any
    number of processes. The stream ends after a few minutes; browsers reconnect on their
    own, and the reconnect checks the session again.
    """
    return StreamingResponse(
        live_counts(container, who.actor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def live_counts(container: Container, actor: Actor) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    changes = container.live_changes
    waiter = changes.subscribe() if changes is not None else None
    poll_seconds = container.settings.live_poll_seconds
    loop = asyncio.get_running_loop()
    now = loop.time()
    deadline = now + LIVE_STREAM_SECONDS
    stamp: str | None = None
    told, looked_at, next_beat = True, now, now + LIVE_HEARTBEAT_SECONDS
    try:
        while now < deadline:
            # Asked each time: a listener lost or found again says so by telling every stream.
            listening = changes is not None and changes.listening
            if told or (not listening and now >= looked_at + poll_seconds):
                if waiter is not None:
                    waiter.forget()  # a change committed during this look is told again
                try:
                    state = await run_in_threadpool(
                        console.live_state, container.uow.read_only(), actor, stamp
                    )
                except DomainError:
                    return
                looked_at = now
                if state.stamp != stamp:
                    stamp = state.stamp
                    payload = {"stamp": stamp, "counts": asdict(state.counts)}
                    yield f"event: counts\ndata: {json.dumps(payload)}\n\n"
                    next_beat = now + LIVE_HEARTBEAT_SECONDS
            if now >= next_beat:
                yield ": still here\n\n"
                next_beat = now + LIVE_HEARTBEAT_SECONDS
            wake_at = min(next_beat, deadline)
            if not (changes is not None and changes.listening):
                wake_at = min(wake_at, looked_at + poll_seconds)
            if waiter is None:
                await asyncio.sleep(wake_at - now)
                told = False
            else:
                told = await waiter.wait(wake_at - now)
            now = loop.time()
    finally:
        if changes is not None and waiter is not None:
            changes.unsubscribe(waiter)


@router.get("/next")
def next_case(visit: ReadPage, after: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The next case to work: mine first, then unassigned ones, oldest activity last."""
    for view in ("mine", "unassigned"):
        result = visit.read(console.queue, console.QueueQuery(view=view), 2, None)
        for case in result.page.items:
            if case.id != after:
                return redirect(f"/cases/{case.id}")
    return redirect(f"/cases/{after}" if after else "/queue", "no_next")
