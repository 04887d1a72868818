"""Signing in and out of the console."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from caredesk.domain.errors import DomainError, RetryLater
from caredesk.services.access import auth
from caredesk.services.access.secrets import CsrfRealm, csrf_token_for
from caredesk.web.deps import SESSION_COOKIE, client_address
from caredesk.web.pages.common import (
    ContainerDep,
    PageRoute,
    SignInRequired,
    redirect,
    render,
    signed_in,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# Before a session exists, a random cookie echoed in the form stops sign-in from other sites.
LOGIN_CSRF_COOKIE = "caredesk_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only paths on this site: an absolute or protocol-relative URL would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


def _login_page(
    request: Request, *, next_url: str, error: str | None = None, email: str = "", status: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        status_code=status,
        login_csrf=token,
        next_url=next_url,
        error=error,
        email=email,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=request.app.state.container.settings.cookies_secure,
    )
    return response


@router.get("/")
def home(request: Request, container: ContainerDep) -> Response:
    try:
        signed_in(request, container)
    except SignInRequired:
        return redirect("/login")
    return redirect("/queue")


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    container: ContainerDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    login_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/queue",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_csrf):
        return _login_page(
            request,
            next_url=_safe_next(next),
            error="The sign-in form expired. Please sign in again.",
            email=email,
            status=403,
        )
    settings = container.settings
    try:
        issued = auth.login(
            container.uow(),
            container.hasher,
            container.clock.now(),
            email=email.strip(),
            password=password,
            ttl=timedelta(seconds=settings.session_ttl_seconds),
            client=client_address(request),
            rules=container.throttling,
        )
    except RetryLater as exc:
        page = _login_page(
            request, next_url=_safe_next(next), error=exc.message, email=email, status=429
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except DomainError as exc:
        return _login_page(
            request, next_url=_safe_next(next), error=exc.message, email=email, status=401
        )
    response = redirect(_safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        issued.secret,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, container: ContainerDep) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    form = await request.form()
    # An expired session signs out quietly; a live one must prove the click came from us.
    if secret:
        if form.get("csrf_token") == csrf_token_for(secret, CsrfRealm.CONSOLE):
            auth.logout(container.uow(), secret, container.clock.now())
        else:
            try:
                signed_in(request, container)
            except SignInRequired:
                pass
            else:
                return redirect("/queue")
    response = redirect("/login", "signed_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
