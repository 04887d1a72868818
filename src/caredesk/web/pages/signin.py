"""Signing in and out of the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse

from caredesk.bootstrap import Container
from caredesk.domain.errors import DomainError, RetryLater
from caredesk.services.access import auth
from caredesk.services.access.secrets import CsrfRealm, csrf_token_for
from caredesk.web.deps import SESSION_COOKIE, ContainerDep
from caredesk.web.pages.common import SignInRequired, page_router, redirect, render, signed_in
from caredesk.web.pages.forms import LoginForm, LogoutForm
from caredesk.web.sessions import SignInGuard, set_session_cookie, start_session

router = page_router()
LOGIN_GUARD = SignInGuard(cookie="caredesk_login_csrf", path="/login")


def _safe_next(target: str | None) -> str:
    """Only paths on this site: an absolute or protocol-relative URL would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


def _login_page(
    request: Request, *, next_url: str, error: str | None = None, email: str = "", status: int = 200
) -> HTMLResponse:
    token = LOGIN_GUARD.new_token()
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
    LOGIN_GUARD.set_cookie(request, response, token)
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
    request: Request, container: ContainerDep, form: Annotated[LoginForm, Form()]
) -> Response:
    next_url = _safe_next(form.next)
    if not LOGIN_GUARD.matches(request, form.login_csrf):
        error = "The sign-in form expired. Please sign in again."
        return _login_page(request, next_url=next_url, error=error, email=form.email, status=403)
    now = container.clock.now()
    try:
        issued = start_session(request, container, now, form.email.strip(), form.password)
    except DomainError as exc:
        return _login_refused(request, next_url, form.email, exc)
    response = redirect(next_url)
    set_session_cookie(response, container, issued.secret)
    LOGIN_GUARD.clear(response)
    return response


def _login_refused(request: Request, next_url: str, email: str, exc: DomainError) -> Response:
    if isinstance(exc, RetryLater):
        page = _login_page(request, next_url=next_url, error=exc.message, email=email, status=429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    return _login_page(request, next_url=next_url, error=exc.message, email=email, status=401)


@router.post("/logout")
def logout(
    request: Request, container: ContainerDep, form: Annotated[LogoutForm, Form()]
) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    # An expired session signs out quietly; a live one must prove the click came from us.
    if secret and form.csrf_token == csrf_token_for(secret, CsrfRealm.CONSOLE):
        auth.logout(container.uow(), secret, container.clock.now())
    elif secret and _still_signed_in(request, container):
        return redirect("/queue")
    response = redirect("/login", "signed_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _still_signed_in(request: Request, container: Container) -> bool:
    try:
        signed_in(request, container)
    except SignInRequired:
        return False
    return True
