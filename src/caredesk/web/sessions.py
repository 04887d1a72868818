"""An agent's session, started and ended the same way from the console and the REST API; and
the guard of a sign-in form, the console's and the portal's alike."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request, Response

from caredesk.bootstrap import Container
from caredesk.services.access import auth
from caredesk.services.access.auth import IssuedConsoleSession
from caredesk.settings import Settings
from caredesk.web.deps import SESSION_COOKIE, client_address


def start_session(
    request: Request, container: Container, now: datetime, email: str, password: str
) -> IssuedConsoleSession:
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
    set_browser_cookie(response, SESSION_COOKIE, secret, settings, settings.session_ttl_seconds)


def set_browser_cookie(
    response: Response, name: str, secret: str, settings: Settings, ttl: int, path: str = "/"
) -> None:
    """A signed-in browser's cookie, the console's and the portal's alike: out of scripts'
    reach, sent over HTTPS only where the desk says so, and not on other sites' requests."""
    response.set_cookie(
        name,
        secret,
        max_age=ttl,
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        path=path,
    )


@dataclass(frozen=True, slots=True)
class SignInGuard:
    """Before a session exists, a random cookie echoed in the sign-in form stops sign-in from
    other sites: their page cannot read the cookie, so it cannot put the token in the form."""

    cookie: str
    path: str

    def new_token(self) -> str:
        return secrets.token_urlsafe(24)

    def set_cookie(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            self.cookie,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            path=self.path,
            secure=request.app.state.container.settings.cookies_secure,
        )

    def matches(self, request: Request, sent: str) -> bool:
        expected = request.cookies.get(self.cookie, "")
        return bool(expected) and hmac.compare_digest(expected.encode(), sent.encode())

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)
