"""What every portal page shares: templates, the signed-in customer, CSRF and error pages."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request, Response
from fastapi import Path as UrlPath
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment

from caredesk.domain.agents import Actor
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, ErrorCode, Unauthenticated
from caredesk.services.access.secrets import CsrfRealm, csrf_token_for
from caredesk.services.channels import portal
from caredesk.web.deps import ContainerDep
from caredesk.web.errors import PORTAL_HINTS, ErrorPageRoute, ErrorPages
from caredesk.web.html import page_html, page_templates
from caredesk.web.visits import Visit

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PORTAL_COOKIE = "caredesk_portal"
CSRF_FIELD = "csrf_token"


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def _day(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%d %b %Y")


def _size(value: int) -> str:
    if value < 1024:
        return f"{value} bytes"
    if value < 1024 * 1024:
        return f"{value / 1024:.0f} KB"
    return f"{value / 1024 / 1024:.1f} MB"


def _sentence(value: str) -> str:
    """The first letter up, the rest as written (`capitalize` would lower "MB" and names)."""
    return value[:1].upper() + value[1:]


def build_templates() -> Environment:
    env = page_templates(HERE / "templates")
    env.filters.update(when=_when, day=_day, size=_size, sentence=_sentence)
    env.globals.update(urlencode=urlencode, quote=quote)
    return env


TEMPLATES = build_templates()


@dataclass(frozen=True, slots=True)
class PortalCustomer:
    """The customer behind this request's portal cookie: their record, and the cookie's
    secret their forms' CSRF token is made from."""

    record: Customer
    session_secret: str

    @property
    def customer_id(self) -> str:
        return self.record.id

    @property
    def actor(self) -> Actor:
        return portal.portal_actor(self.record.id)

    @property
    def csrf(self) -> str:
        return csrf_token_for(self.session_secret, CsrfRealm.PORTAL)

    def check_csrf(self, sent: str) -> None:
        """Cookies ride along on requests from other sites; a form must prove it is ours."""
        if not hmac.compare_digest(sent.encode(), self.csrf.encode()):
            raise DomainError(
                "this form is out of date; reload the page and try again",
                code=ErrorCode.CSRF_FAILED,
            )


class PortalSignInRequired(Exception):
    pass


def portal_customer(request: Request, container: ContainerDep) -> PortalCustomer:
    secret = request.cookies.get(PORTAL_COOKIE)
    if not secret:
        raise PortalSignInRequired()
    try:
        customer = portal.session_customer(container.uow.read_only(), secret, container.clock.now())
    except Unauthenticated as exc:
        raise PortalSignInRequired() from exc
    return PortalCustomer(customer, secret)


CustomerDep = Annotated[PortalCustomer, Depends(portal_customer)]


def customer_if_signed_in(request: Request, container: ContainerDep) -> PortalCustomer | None:
    """For the pages anyone may open: the customer when signed in, else nobody."""
    try:
        return portal_customer(request, container)
    except PortalSignInRequired:
        return None


MaybeCustomer = Annotated[PortalCustomer | None, Depends(customer_if_signed_in)]


@dataclass(frozen=True, slots=True)
class PortalVisit(Visit[str]):
    """One request for a portal page by a signed-in customer: the request, the container and
    the customer, whose own the page reads and in whose name it asks, so that a route names
    its own parameters only."""

    customer: PortalCustomer

    @property
    def acting_as(self) -> str:
        return self.customer.customer_id

    def render(self, template: str, **context: Any) -> HTMLResponse:
        return render(self.request, template, self.customer, **context)


def visiting(request: Request, customer: CustomerDep, container: ContainerDep) -> PortalVisit:
    return PortalVisit(request, container, customer)


CustomerPage = Annotated[PortalVisit, Depends(visiting)]


def render(
    request: Request,
    template: str,
    customer: PortalCustomer | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    csrf = customer.csrf if customer else ""
    html = page_html(TEMPLATES, template, request, NOTICES, customer=customer, csrf=csrf, **context)
    response = HTMLResponse(html, status_code=status_code)
    secure_headers(response)
    return response


def secure_headers(response: Response) -> None:
    # Portal pages show one customer's data, and sign-in pages carry a secret in their
    # address: never cached, never framed, and no Referer that could leak the address.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    if notice:
        # The notice belongs to the query, which comes before any #fragment.
        path, hash_mark, fragment = url.partition("#")
        url = f"{path}{'&' if '?' in path else '?'}notice={notice}{hash_mark}{fragment}"
    response = RedirectResponse(url, status_code=303)
    secure_headers(response)
    return response


NOTICES = {
    "signed_out": "You are signed out.",
    "sent": "Thank you. Your message is on the case; we will answer by email and here.",
    "created": "Thank you. We have your request and will answer by email and here.",
    "saved": "Thank you for your answer.",
}


PORTAL_ERRORS = ErrorPages(
    render=render,
    reader=portal_customer,
    sign_in_required=PortalSignInRequired,
    sign_in=lambda request: redirect("/portal/sign-in"),
    hints=PORTAL_HINTS,
    page_context=lambda exc, status: {
        "sign_in_again": exc.code
        in (ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_REVOKED)
    },
)


class PortalRoute(ErrorPageRoute):
    pages = PORTAL_ERRORS


# A secret a link carries: a sign-in link's or a satisfaction survey's.
LinkSecret = Annotated[str, UrlPath(max_length=200)]
