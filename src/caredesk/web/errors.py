"""The readable page a refused request gets, written once for the console and the portal.

Each surface says what it renders with, who reads the page, the hints its readers need and
how a missing sign-in is answered; the route class catching a refusal and the page showing
it are the same for both.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from caredesk.domain.errors import DomainError, ErrorCode, RetryLater
from caredesk.web.problems import STATUS_BY_CODE
from caredesk.web.uploads import BodyTooLarge

CONSOLE_HINTS: Mapping[ErrorCode, str] = {
    ErrorCode.CSRF_FAILED: "Reload the page to get a fresh form, then try again.",
    ErrorCode.FORBIDDEN: "Ask a lead or an admin if you need this.",
    ErrorCode.NOT_FOUND: "It may have been merged or never existed; go back to your queue.",
    ErrorCode.VERSION_CONFLICT: "Reload to see the latest version, then make your change again.",
    ErrorCode.STALE_PLAN: "The offers were planned on older facts; reload to plan again.",
    ErrorCode.FILE_TOO_LARGE: "Attach a smaller file, or share a large one by a link.",
    ErrorCode.ATTACHMENTS_TOO_LARGE: "Attach fewer or smaller files; send the rest in a second "
    "message.",
    ErrorCode.TOO_MANY_ATTACHMENTS: "Attach fewer files; send the rest in a second message.",
    ErrorCode.OWN_REQUEST: "Another lead or admin decides it (a policy change: another admin); "
    "you may still withdraw it.",
}

PORTAL_HINTS: Mapping[ErrorCode, str] = {
    ErrorCode.CSRF_FAILED: "Reload the page to get a fresh form, then try again.",
    ErrorCode.NOT_FOUND: "It may not exist, or it belongs to another account.",
    ErrorCode.TOKEN_INVALID: "Ask for a new sign-in link below.",
    ErrorCode.TOKEN_EXPIRED: "Sign-in links work for a short time only. Ask for a new one.",
    ErrorCode.TOKEN_REVOKED: "Each sign-in link works once. Ask for a new one.",
    ErrorCode.TOO_MANY_ATTEMPTS: "Wait a little, then open the link from your email again.",
    ErrorCode.FILE_TOO_LARGE: "Attach a smaller file: a photo from your phone usually fits.",
    ErrorCode.ATTACHMENTS_TOO_LARGE: "Attach fewer or smaller files, and send the rest in "
    "another message.",
    ErrorCode.TOO_MANY_ATTACHMENTS: "Attach fewer files, and send the rest in another message.",
}


def form_problem(exc: RequestValidationError) -> DomainError:
    """A form FastAPI could not read, named by its fields, as the desk's own refusal."""
    fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors() if e.get("loc"))
    return DomainError(
        f"the form is missing or has a wrong value in: {fields or 'a field'}",
        code=ErrorCode.VALIDATION_ERROR,
    )


@dataclass(frozen=True)
class ErrorPages:
    """How one surface shows a refusal: its renderer, its reader, its hints."""

    render: Callable[..., HTMLResponse]
    # Who reads the page, from the request and the container; raises sign_in_required.
    reader: Callable[[Request, Any], Any]
    sign_in_required: type[Exception]
    sign_in: Callable[[Request], Response]
    hints: Mapping[ErrorCode, str]
    # What the surface's error template wants beyond the refusal itself.
    page_context: Callable[[DomainError, int], dict[str, Any]]

    def reader_or_none(self, request: Request) -> Any:
        """A refusal is shown to anyone: without a sign-in, the page is drawn for nobody."""
        try:
            return self.reader(request, request.app.state.container)
        except self.sign_in_required:
            return None

    def page(
        self, request: Request, reader: Any, exc: DomainError, status_code: int | None = None
    ) -> HTMLResponse:
        status = status_code or STATUS_BY_CODE.get(exc.code, 400)
        page = self.render(
            request,
            "error.html",
            reader,
            status_code=status,
            error=exc,
            code=exc.code.value,
            hint=self.hints.get(exc.code),
            **self.page_context(exc, status),
        )
        if isinstance(exc, RetryLater):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page


class ErrorPageRoute(APIRoute):
    """Routes that answer with pages: a refusal is a readable page, never JSON or a trace."""

    pages: ClassVar[ErrorPages]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        pages = self.pages

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except pages.sign_in_required:
                return pages.sign_in(request)
            except (DomainError, BodyTooLarge, RequestValidationError) as exc:
                reader = await run_in_threadpool(pages.reader_or_none, request)
                if isinstance(exc, BodyTooLarge):
                    return pages.page(request, reader, exc.problem, 413)
                if isinstance(exc, RequestValidationError):
                    return pages.page(request, reader, form_problem(exc), 422)
                return pages.page(request, reader, exc)

        return route
