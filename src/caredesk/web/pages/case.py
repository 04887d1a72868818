"""The case page: the story, the customer, the offers, and every action on the case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from caredesk.domain.agents import Permission
from caredesk.domain.cases import CaseStatus, Priority
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.console import console, pages
from caredesk.services.console.console import ORDERS_IN_DETAIL
from caredesk.services.knowledge import macros
from caredesk.web.errors import CONSOLE_HINTS
from caredesk.web.pages.common import PageVisit, ReadPage, WritePage, page_router, redirect
from caredesk.web.pages.forms import CaseFieldsForm, GrantForm, ReplyForm
from caredesk.web.pages.panels import render_panels
from caredesk.web.pages.views import offer_cards, timeline
from caredesk.web.uploads import MessageFiles, takes_files

router = page_router()
CaseId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def case_page(
    visit: PageVisit,
    case_id: int,
    *,
    status_code: int = 200,
    problem: DomainError | None = None,
    attempted: dict[str, Any] | None = None,
    kept_body: str | None = None,
) -> HTMLResponse:
    """Render the case as it is now; after a refusal, say why above it and keep what was typed."""
    who, container = visit.who, visit.container
    screen = visit.read(console.case_screen, visit.now(), case_id, semantic=container.semantic)
    linked = [o for o in screen.orders if o.id in screen.case.order_ids]
    recent = [o for o in reversed(screen.orders) if o.id not in screen.case.order_ids]
    detailed = linked + recent[: max(0, ORDERS_IN_DETAIL - len(linked))]
    shown = {o.id for o in detailed}
    context = visit.reader_context() | {"can_write": who.can(Permission.WRITE_CASES)}
    panels = render_panels(container, who.actor, screen, context)
    return visit.render(
        "case.html",
        status_code=status_code,
        s=screen,
        currency=screen.currency,
        grant_notice_minutes=container.settings.grant_notice_minutes,
        case=screen.case,
        customer=screen.customer,
        entries=timeline(screen),
        offers=offer_cards(screen),
        detailed_orders=detailed,
        other_orders=[o for o in reversed(screen.order_summaries) if o.id not in shown],
        macros=macros.case_macros(container.formats, screen, who.agent, screen.kb_macros),
        statuses=list(CaseStatus),
        priorities=list(Priority),
        agents=sorted((a for a in screen.agents.values() if a.active), key=lambda a: a.name),
        teams=sorted(screen.teams.values(), key=lambda t: t.name),
        panels=panels,
        problem=problem,
        problem_hint=CONSOLE_HINTS.get(problem.code) if problem else None,
        attempted=attempted or {},
        kept_body=kept_body,
        can_write=who.can(Permission.WRITE_CASES),
        attachment_limits=container.attachment_limits,
        counts=None,
        push_url=f"/cases/{case_id}",
    )


_REFUSAL_STATUS = {
    ErrorCode.VERSION_CONFLICT: 409,
    ErrorCode.STALE_PLAN: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.OVER_AUTHORITY: 403,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.ATTACHMENTS_TOO_LARGE: 413,
    ErrorCode.TOO_MANY_ATTACHMENTS: 413,
}


def case_refused(visit: PageVisit, case_id: int, exc: DomainError, **kept: Any) -> HTMLResponse:
    """The case page again, with why a change to the case was refused and what was typed."""
    if exc.code is ErrorCode.NOT_FOUND and exc.details.get("entity") == "case":
        raise exc
    status_code = _REFUSAL_STATUS.get(exc.code, 422)
    return case_page(visit, case_id, status_code=status_code, problem=exc, **kept)


@router.get("/cases/{case_id}")
def show_case(case_id: CaseId, visit: ReadPage) -> Response:
    return case_page(visit, case_id)


@router.post("/cases/{case_id}/reply")
@takes_files
async def post_reply(
    case_id: CaseId,
    visit: WritePage,
    form: Annotated[ReplyForm, Form()],
    files: MessageFiles = None,
) -> Response:
    reply = pages.reply_request(form.kind, form.solve, form.version)
    try:
        attachments = await visit.attachments(files)
        await run_in_threadpool(_send_reply, visit, case_id, form.body, reply, attachments)
    except DomainError as exc:
        return await run_in_threadpool(case_refused, visit, case_id, exc, kept_body=form.body)
    return redirect(f"/cases/{case_id}", reply.notice)


def _send_reply(
    visit: PageVisit,
    case_id: int,
    body: str,
    reply: pages.ReplyRequest,
    attachments: list[NewAttachment],
) -> None:
    container = visit.container
    visit.run(
        console.reply,
        case_id,
        kind=reply.kind,
        body=body,
        attachments=attachments,
        attachment_limits=container.attachment_limits,
        solve_at_version=reply.solve_at_version,
        lifecycle_options=container.lifecycle,
    )


@router.post("/cases/{case_id}/fields")
def update_fields(
    case_id: CaseId, visit: WritePage, form: Annotated[CaseFieldsForm, Form()]
) -> Response:
    version = pages.case_version(form.version)
    changes = pages.field_changes(form.chosen(), form.shown())
    if not changes:
        return redirect(f"/cases/{case_id}")
    try:
        visit.run(cases.update_case, case_id, expected_version=version, changes=changes)
    except DomainError as exc:
        return case_refused(visit, case_id, exc, attempted=pages.attempted(changes))
    return redirect(f"/cases/{case_id}", "saved")


@router.post("/cases/{case_id}/assign-me")
def assign_me(case_id: CaseId, visit: WritePage, version: Annotated[int, Form(ge=1)]) -> Response:
    agent = visit.who.agent
    try:
        visit.run(cases.assign_case, case_id, assignee_id=agent.id, expected_version=version)
    except DomainError as exc:
        return case_refused(visit, case_id, exc, attempted={"assignee_id": agent.name})
    return redirect(f"/cases/{case_id}", "assigned")


@router.post("/cases/{case_id}/grant")
def grant(case_id: CaseId, visit: WritePage, form: Annotated[GrantForm, Form()]) -> Response:
    chosen = form.request(pages.grant_basis(form.basis))
    container = visit.container
    try:
        notice = pages.grant_from_page(
            container.uow,
            visit.who.actor,
            container.clock.now,
            case_id,
            chosen,
            container.settings.grant_notice_minutes,
        )
    except DomainError as exc:
        return case_refused(visit, case_id, exc)
    return redirect(f"/cases/{case_id}", notice)
