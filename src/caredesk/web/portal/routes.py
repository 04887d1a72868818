"""The customer portal's pages: sign in by link, cases, replies, orders and self-service
(help is in help.py, satisfaction surveys in surveys.py)."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from caredesk.domain.cases import Case
from caredesk.domain.errors import DomainError, ErrorCode, NotFound
from caredesk.domain.policy.model import RemedyKind
from caredesk.services.access.secrets import CsrfRealm, csrf_token_for
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.channels import portal
from caredesk.services.channels.portal import CustomerMailer
from caredesk.settings import Settings
from caredesk.web.deps import ContainerDep, client_address
from caredesk.web.errors import PORTAL_HINTS
from caredesk.web.portal.common import (
    PORTAL_COOKIE,
    CustomerPage,
    LinkSecret,
    MaybeCustomer,
    PortalRoute,
    PortalVisit,
    redirect,
    render,
    secure_headers,
)
from caredesk.web.portal.forms import OpenCaseForm, RemedyForm, ReplyForm
from caredesk.web.problems import STATUS_BY_CODE
from caredesk.web.sessions import SignInGuard, set_browser_cookie
from caredesk.web.uploads import MessageFiles, takes_files

router = APIRouter(prefix="/portal", route_class=PortalRoute, include_in_schema=False)
LOGIN_GUARD = SignInGuard(cookie="caredesk_portal_login", path="/portal")
CaseId = Annotated[int, Path(ge=1, le=2**63 - 1)]
OrderId = Annotated[str, Path(max_length=64)]
RemedyId = Annotated[str, Path(max_length=64)]
Csrf = Annotated[str, Form(max_length=100)]


def mailer_of(request: Request) -> CustomerMailer:
    mailer: CustomerMailer = request.app.state.portal_mailer
    return mailer


def portal_base(request: Request, container: ContainerDep) -> str:
    """The address sign-in links point at: the configured one, as in every other mail."""
    settings = container.settings
    if settings.portal_url or settings.base_url:
        return settings.portal_address()
    return str(request.base_url).rstrip("/") + "/portal"


# --- signing in -------------------------------------------------------------------------------


@router.get("")
def home(visit: CustomerPage) -> HTMLResponse:
    return visit.render("home.html", cases=visit.read(portal.my_cases).items)


@router.get("/sign-in")
def sign_in_form(request: Request, customer: MaybeCustomer) -> Response:
    if customer is None:
        return render(request, "sign_in.html", None)
    return redirect("/portal")


@router.post("/sign-in")
def ask_for_link(
    request: Request,
    container: ContainerDep,
    email: Annotated[str, Form(max_length=320)] = "",
) -> HTMLResponse:
    base = portal_base(request, container)
    portal.request_sign_in(
        container.uow(),
        mailer_of(request),
        container.clock.now(),
        email=email,
        client=client_address(request),
        link_for=lambda secret: f"{base}/sign-in/{secret}",
        limits=_link_limits(container.settings),
    )
    # The same page whatever happened: it must not tell whether the address is a customer's.
    minutes = container.settings.portal_link_ttl_seconds // 60
    return render(request, "link_sent.html", None, email=email.strip(), minutes=minutes)


def _link_limits(settings: Settings) -> portal.SignInLimits:
    return portal.SignInLimits(
        link_ttl=timedelta(seconds=settings.portal_link_ttl_seconds),
        per_address_per_hour=settings.portal_links_per_hour,
        per_client_per_hour=settings.portal_links_per_client_per_hour,
    )


@router.get("/sign-in/{secret}")
def confirm_sign_in(request: Request, secret: LinkSecret) -> HTMLResponse:
    """Mail scanners open links to check them: signing in takes a click on this page, so a
    scanner cannot use up the link before the customer does."""
    token = LOGIN_GUARD.new_token()
    response = render(request, "confirm_sign_in.html", None, secret=secret, login_csrf=token)
    LOGIN_GUARD.set_cookie(request, response, token)
    return response


@router.post("/sign-in/{secret}")
def sign_in(
    request: Request,
    container: ContainerDep,
    secret: LinkSecret,
    login_csrf: Csrf = "",
) -> Response:
    _check_login_csrf(request, login_csrf)
    settings = container.settings
    issued = portal.redeem_link(
        container.uow(),
        container.clock.now(),
        secret,
        timedelta(seconds=settings.portal_session_ttl_seconds),
        client=client_address(request),
        rules=container.throttling,
    )
    response = redirect("/portal")
    ttl = settings.portal_session_ttl_seconds
    set_browser_cookie(response, PORTAL_COOKIE, issued.secret, settings, ttl, "/portal")
    LOGIN_GUARD.clear(response)
    return response


def _check_login_csrf(request: Request, sent: str) -> None:
    if not LOGIN_GUARD.matches(request, sent):
        raise DomainError(
            "this sign-in page expired; open the link from your email again",
            code=ErrorCode.CSRF_FAILED,
        )


@router.post("/sign-out")
def sign_out(request: Request, container: ContainerDep, csrf_token: Csrf = "") -> Response:
    secret = request.cookies.get(PORTAL_COOKIE)
    if secret:
        if hmac.compare_digest(
            csrf_token.encode(), csrf_token_for(secret, CsrfRealm.PORTAL).encode()
        ):
            portal.sign_out(container.uow(), secret, container.clock.now())
        else:
            return redirect("/portal")
    response = redirect("/portal/sign-in", "signed_out")
    response.delete_cookie(PORTAL_COOKIE, path="/portal")
    return response


# --- cases ------------------------------------------------------------------------------------


def _case_page(
    visit: PortalVisit,
    case_id: int,
    *,
    error: DomainError | None = None,
    kept_body: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    own = visit.read(portal.my_case, case_id)
    return _form_page(
        visit,
        "case.html",
        error=error,
        status_code=status_code,
        case=own.case,
        messages=own.messages,
        survey=own.survey,
        kept_body=kept_body,
    )


def _new_case_page(
    visit: PortalVisit,
    *,
    chosen: str,
    error: DomainError | None = None,
    kept: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    orders = visit.read(portal.my_orders)
    return _form_page(
        visit,
        "new_case.html",
        error=error,
        status_code=status_code,
        orders=orders,
        chosen=chosen,
        kept=kept or {},
    )


def _form_page(
    visit: PortalVisit,
    template: str,
    *,
    error: DomainError | None,
    status_code: int,
    **context: object,
) -> HTMLResponse:
    """A page with a message form: after a refusal, why and what to do above the form."""
    return visit.render(
        template,
        status_code=status_code,
        error=error,
        hint=PORTAL_HINTS.get(error.code) if error else None,
        attachment_limits=visit.container.attachment_limits,
        **context,
    )


@router.get("/cases/new")
def new_case_form(visit: CustomerPage) -> HTMLResponse:
    return _new_case_page(visit, chosen=visit.request.query_params.get("order", ""))


# What a refused form can be shown again with: the rest go to the error page.
_KEPT_REFUSALS = (
    ErrorCode.VALIDATION_ERROR,
    ErrorCode.FILE_TOO_LARGE,
    ErrorCode.ATTACHMENTS_TOO_LARGE,
    ErrorCode.TOO_MANY_ATTACHMENTS,
)


@router.post("/cases")
@takes_files
async def open_case(
    visit: CustomerPage, form: Annotated[OpenCaseForm, Form()], files: MessageFiles = None
) -> Response:
    visit.customer.check_csrf(form.csrf_token)
    try:
        attachments = await visit.attachments(files)
        case = await run_in_threadpool(_open_case, visit, form, attachments)
    except DomainError as exc:
        if exc.code not in _KEPT_REFUSALS:
            raise
        return await run_in_threadpool(_case_refused, visit, form, exc)
    return redirect(f"/portal/cases/{case.id}", "created")


def _open_case(visit: PortalVisit, form: OpenCaseForm, attachments: list[NewAttachment]) -> Case:
    return visit.run(
        portal.open_case,
        subject=form.subject,
        body=form.body,
        order_id=form.order_id or None,
        attachments=attachments,
        attachment_limits=visit.container.attachment_limits,
    )


def _case_refused(visit: PortalVisit, form: OpenCaseForm, refused: DomainError) -> HTMLResponse:
    # The customer's words come back in the form; files cannot be, they choose them again.
    return _new_case_page(
        visit,
        chosen=form.order_id,
        error=refused,
        kept={"subject": form.subject, "body": form.body},
        status_code=STATUS_BY_CODE.get(refused.code, 422),
    )


@router.get("/cases/{case_id}")
def show_case(case_id: CaseId, visit: CustomerPage) -> HTMLResponse:
    return _case_page(visit, case_id)


@router.post("/cases/{case_id}/reply")
@takes_files
async def reply(
    case_id: CaseId,
    visit: CustomerPage,
    form: Annotated[ReplyForm, Form()],
    files: MessageFiles = None,
) -> Response:
    visit.customer.check_csrf(form.csrf_token)
    try:
        attachments = await visit.attachments(files)
        await run_in_threadpool(_reply, visit, case_id, form.body, attachments)
    except DomainError as exc:
        if exc.code is ErrorCode.NOT_FOUND:
            raise
        return await run_in_threadpool(_reply_refused, visit, case_id, form, exc)
    return redirect(f"/portal/cases/{case_id}#latest", "sent")


def _reply(visit: PortalVisit, case_id: int, body: str, attachments: list[NewAttachment]) -> None:
    visit.run(
        portal.reply,
        case_id,
        body=body,
        attachments=attachments,
        attachment_limits=visit.container.attachment_limits,
        lifecycle_options=visit.container.lifecycle,
    )


def _reply_refused(
    visit: PortalVisit, case_id: int, form: ReplyForm, refused: DomainError
) -> HTMLResponse:
    status = STATUS_BY_CODE.get(refused.code, 422)
    return _case_page(visit, case_id, error=refused, kept_body=form.body, status_code=status)


@router.get("/cases/{case_id}/attachments/{sha256}")
def attachment(
    case_id: CaseId,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    visit: CustomerPage,
) -> Response:
    own = visit.read(portal.my_case, case_id)
    meta = next((a for m in own.messages for a in m.attachments if a.sha256 == sha256), None)
    if meta is None:
        raise NotFound("attachment", sha256)
    content = visit.read(portal.my_attachment, case_id, sha256)
    filename = "".join(c for c in meta.filename if c.isalnum() or c in "._- ") or "attachment"
    response = Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    secure_headers(response)
    return response


# --- orders and self-service ------------------------------------------------------------------


@router.get("/orders")
def orders(visit: CustomerPage) -> HTMLResponse:
    return visit.render("orders.html", orders=visit.read(portal.order_self_service, visit.now()))


def _option(
    visit: PortalVisit, order_id: str, remedy_id: str
) -> tuple[portal.OrderSelfService, portal.SelfServiceOption]:
    entry = visit.read(portal.order_self_service, visit.now(), order_id)[0]
    option = next((o for o in entry.options if o.remedy.id == remedy_id), None)
    if option is None:
        raise DomainError(
            "this is not something you can do yourself here; write to us and we will help",
            code=ErrorCode.NOT_ELIGIBLE,
            details={"remedy": remedy_id, "rule": f"remedies.{remedy_id}.self_service"},
        )
    return entry, option


def _confirm_page(
    visit: PortalVisit,
    order_id: str,
    remedy_id: str,
    *,
    request_key: str,
    error: DomainError | None = None,
    reason: str = "",
    item_ids: list[str] | None = None,
) -> HTMLResponse:
    """The confirm form; after a refusal, the same form with why above it and the choices
    kept, so the customer can put it right."""
    entry, option = _option(visit, order_id, remedy_id)
    return visit.render(
        "confirm_remedy.html",
        status_code=STATUS_BY_CODE.get(error.code, 422) if error else 200,
        entry=entry,
        option=option,
        cancel_reasons=portal.CANCEL_REASONS,
        keep_reasons=portal.KEEP_REASONS,
        kinds=RemedyKind,
        request_key=request_key,
        error=error,
        reason=reason,
        item_ids=item_ids,
    )


@router.get("/orders/{order_id}/{remedy_id}")
def confirm_remedy(order_id: OrderId, remedy_id: RemedyId, visit: CustomerPage) -> HTMLResponse:
    return _confirm_page(visit, order_id, remedy_id, request_key=secrets.token_urlsafe(16))


@router.post("/orders/{order_id}/{remedy_id}")
def request_remedy(
    order_id: OrderId,
    remedy_id: RemedyId,
    visit: CustomerPage,
    form: Annotated[RemedyForm, Form()],
) -> Response:
    visit.customer.check_csrf(form.csrf_token)
    try:
        outcome = _request_remedy(visit, order_id, remedy_id, form)
    except DomainError as exc:
        if exc.code is ErrorCode.NOT_FOUND:
            raise
        return _remedy_refused(visit, order_id, remedy_id, form, exc)
    return visit.render("remedy_done.html", outcome=outcome, order_id=order_id)


def _remedy_refused(
    visit: PortalVisit, order_id: str, remedy_id: str, form: RemedyForm, refused: DomainError
) -> HTMLResponse:
    """The confirm form again, with why above it and the customer's choices kept."""
    return _confirm_page(
        visit,
        order_id,
        remedy_id,
        request_key=form.request_key or secrets.token_urlsafe(16),
        error=refused,
        reason=form.reason,
        item_ids=form.item_ids or [],
    )


def _request_remedy(
    visit: PortalVisit, order_id: str, remedy_id: str, form: RemedyForm
) -> portal.SelfServiceOutcome:
    return visit.run(
        portal.request_remedy,
        remedy_id=remedy_id,
        order_id=order_id,
        reason=form.reason or None,
        item_ids=form.item_ids,
        confirmed=form.confirm == "yes",
        idempotency_key=f"portal:{form.request_key}" if form.request_key else None,
        mailer=mailer_of(visit.request),
        orders_link=f"{portal_base(visit.request, visit.container)}/orders",
    )
