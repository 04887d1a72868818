"""What every console page shares: templates, the signed-in agent, CSRF, and error pages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from caredesk.bootstrap import Container
from caredesk.domain.agents import Actor, Agent, Permission
from caredesk.domain.errors import DomainError, ErrorCode, Unauthenticated
from caredesk.domain.money import format_money
from caredesk.services.access import auth
from caredesk.services.access.secrets import CsrfRealm, csrf_token_for
from caredesk.web.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, ContainerDep
from caredesk.web.errors import CONSOLE_HINTS, ErrorPageRoute, ErrorPages
from caredesk.web.html import page_html, page_templates
from caredesk.web.visits import Visit

log = structlog.get_logger("caredesk.console")
P = ParamSpec("P")
T = TypeVar("T")
HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
CSRF_FIELD = "csrf_token"


@pass_context
def _money(context: Context, value: Decimal | None) -> str:
    """An amount in the store's currency when the page knows it (the case page does)."""
    if value is None:
        return "—"
    currency = context.get("currency")
    return format_money(value, currency) if currency else f"{value:,.2f}"


def _zone(context: Context) -> tzinfo:
    zone = context.get("time_zone")
    return zone if isinstance(zone, tzinfo) else UTC


@pass_context
def _when(context: Context, value: datetime | date | None) -> str:
    """A time in the reader's time zone (the agent's, else the desk's), named."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(_zone(context)).strftime("%Y-%m-%d %H:%M %Z")
    return value.isoformat()


@pass_context
def _day(context: Context, value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(_zone(context)).date().isoformat()
    return value.isoformat()


def reader_zone(who: SignedIn | None, desk_zone: str) -> tzinfo:
    """The agent's time zone, else the desk's; a name the system does not know reads as UTC."""
    name = (who.agent.time_zone if who else None) or desk_zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _tojson_attr(value: Any) -> Markup:
    """JSON for an HTML attribute value (autoescaping quotes it once, safely)."""
    return Markup.escape(json.dumps(value, sort_keys=True, default=str))


def build_templates() -> Environment:
    env = page_templates(HERE / "templates")
    env.filters.update(
        money=_money, when=_when, day=_day, iso=_iso, percent=_percent, jattr=_tojson_attr
    )
    env.globals.update(Permission=Permission, urlencode=urlencode, quote=quote)
    return env


TEMPLATES = build_templates()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The agent behind this request's session cookie."""

    agent: Agent
    session_secret: str

    @property
    def actor(self) -> Actor:
        return self.agent.actor()

    @property
    def csrf(self) -> str:
        return csrf_token_for(self.session_secret, CsrfRealm.CONSOLE)

    def can(self, permission: Permission) -> bool:
        return self.actor.can(permission)


class SignInRequired(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signed_in(request: Request, container: ContainerDep) -> SignedIn:
    return _signed_in(request, container, container.uow.read_only())


def _signed_in(request: Request, container: Container, unit: Any) -> SignedIn:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise SignInRequired("")
    try:
        agent = auth.session_agent(unit, secret, container.clock.now())
    except Unauthenticated as exc:
        raise SignInRequired(exc.message) from exc
    return SignedIn(agent, secret)


async def checked(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    """A write from a console page: the CSRF token must match the session's."""
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if sent != who.csrf:
            raise DomainError(
                "this form is out of date or did not come from caredesk; reload the page "
                "and try again",
                code=ErrorCode.CSRF_FAILED,
            )
    return who


Reader = Annotated[SignedIn, Depends(signed_in)]
Writer = Annotated[SignedIn, Depends(checked)]


@dataclass(frozen=True, slots=True)
class PageVisit(Visit[Actor]):
    """One request for a console page: the request, the container and the signed-in agent,
    as whom the page reads and gives its commands, so that a route names its own parameters
    only."""

    who: SignedIn
    # A page that only reads: the read-only unit of work its session was checked in, which
    # every read of the page joins (`reading`).
    unit: Any = None

    @property
    def acting_as(self) -> Actor:
        return self.who.actor

    def read(
        self, query: Callable[Concatenate[Any, Actor, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self.unit is None:
            return Visit.read(self, query, *args, **kwargs)
        return query(self.unit, self.acting_as, *args, **kwargs)

    def reader_context(self) -> dict[str, Any]:
        """What a template drawn apart from its page (a case page's panel) reads of its reader,
        as `render` gives every page."""
        zone = reader_zone(self.who, self.container.settings.desk_timezone)
        return {"who": self.who, "csrf": self.who.csrf, "time_zone": zone}

    def render(self, template: str, **context: Any) -> HTMLResponse:
        return render(self.request, template, self.who, **context)

    def admin_tab(self, tab: str, **context: Any) -> HTMLResponse:
        """A tab of the administration, `admin_<tab>.html`: the tab is marked in its navigation,
        and a form sent from it leaves the tab's address in the history."""
        return self.render(f"admin_{tab}.html", tab=tab, push_url=f"/admin/{tab}", **context)


def reading(request: Request, container: ContainerDep) -> Iterator[PageVisit]:
    """A page that only reads checks its session and reads what it shows in one read-only
    unit of work: one transaction, and the configuration's stamps read once for both."""
    unit = container.uow.read_only()
    with unit:
        yield PageVisit(request, container, _signed_in(request, container, unit), unit)


def writing(request: Request, who: Writer, container: ContainerDep) -> PageVisit:
    return PageVisit(request, container, who)


# A page that only reads, and a form that changes something (its CSRF token checked first).
ReadPage = Annotated[PageVisit, Depends(reading)]
WritePage = Annotated[PageVisit, Depends(writing)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    template: str,
    who: SignedIn | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    push_url: str | None = None,
    **context: Any,
) -> HTMLResponse:
    container = getattr(request.app.state, "container", None)
    desk_zone = container.settings.desk_timezone if container is not None else "UTC"
    context.setdefault("time_zone", reader_zone(who, desk_zone))
    csrf = who.csrf if who else ""
    html = page_html(TEMPLATES, template, request, NOTICES, who=who, csrf=csrf, **context)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    # Console pages show customer data: never cache them, never frame them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.method != "GET":
        # A page drawn in answer to a form must not leave the form's address in the history,
        # where a reload would send a GET to a POST-only route.
        response.headers["HX-Push-Url"] = push_url or "false"
    return response


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    if notice:
        url = f"{url}{'&' if '?' in url else '?'}notice={notice}"
    return RedirectResponse(url, status_code=303)


NOTICES = {
    "signed_out": "You are signed out.",
    "granted": "Granted. The customer has been told, and the ledger and the order are updated.",
    "granted_next_reply": (
        "Granted. The ledger and the order are updated; your next reply tells the customer "
        "(shown above the message box), or it goes out on its own if you do not reply soon."
    ),
    "approval_requested": "Sent for approval. The case shows the request until a lead decides.",
    "sent": "Reply sent.",
    "noted": "Internal note added.",
    "sent_solved": "Reply sent and the case is solved.",
    "saved": "Saved.",
    "assigned": "The case is yours.",
    "approved": "Approved: the grant was executed.",
    "denied": "Denied: nothing was granted.",
    "created": "Created.",
    "revoked": "Token revoked.",
    "policy_loaded": "The policy is in force.",
    "policy_proposed": (
        "The policy gives more room or takes remedies away: it waits below for another admin "
        "to confirm it. The policy in force is unchanged."
    ),
    "policy_confirmed": "Confirmed: the policy is in force.",
    "policy_rejected": "Rejected: the policy in force is unchanged.",
    "view_saved": "View saved.",
    "view_deleted": "View removed.",
    "no_next": "No other open case is waiting for you.",
    "rule_deleted": "Routing rule deleted.",
    "escalated": "Escalated. The receiver reads your handoff summary on the case.",
    "merged": "Merged: the other cases' messages, notes and grants are on this case now.",
    "split": "Split: this is the new case with the messages you moved.",
    "unlocked": "Unlocked: the agent can sign in again.",
    "mail_retried": "Queued again: the worker sends it on its next round.",
}


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    url = "/login?" + urlencode({"next": target if request.method == "GET" else "/"})
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


CONSOLE_ERRORS = ErrorPages(
    render=render,
    reader=signed_in,
    sign_in_required=SignInRequired,
    sign_in=_sign_in_redirect,
    hints=CONSOLE_HINTS,
    page_context=lambda exc, status: {
        "title": "Not allowed" if status == 403 else "Something needs your attention"
    },
)


class PageRoute(ErrorPageRoute):
    pages = CONSOLE_ERRORS


def page_router() -> APIRouter:
    """A console module's routes: refusals drawn as pages, no place in the API's schema."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)
