"""An agent's session, started and ended the same way from the console and the REST API."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import Request, Response

from caredesk.bootstrap import Container
from caredesk.services.access import auth
from caredesk.services.access.auth import IssuedSession
from caredesk.web.deps import SESSION_COOKIE, client_address


def start_session(
    request: Request, container: Container, now: datetime, email: str, password: str
) -> IssuedSession:
    """Sign in from the request's address, under the desk's throttles and session length."""
    return auth.login(
        container.uow(),
        container.hasher,
        now,
        email=email,
        password=password,
        ttl=timedelta(seconds=container.settings.session_ttl_seconds),
        client=client_address(request),
        rules=container.throttling,
    )


def set_session_cookie(response: Response, container: Container, secret: str) -> None:
    settings = container.settings
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        path="/",
    )
