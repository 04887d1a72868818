"""Refusals in Zendesk's shapes, and a 501 for any Zendesk request the desk does not answer.

Zendesk's clients read `{"error": ..., "description": ...}` (with `details` for a record
that fails validation) and wait out a 429 by its `Retry-After`; the statuses are Zendesk's,
the descriptions the desk's own."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from caredesk.domain.errors import DomainError, ErrorCode, RetryLater
from caredesk.services.access.ports import RateVerdict
from caredesk.web.problems import STATUS_BY_CODE, problem
from caredesk.web.ratelimit import refusal_detail, refusal_headers
from caredesk.web.uploads import BodyTooLarge

UNAUTHENTICATED = "Couldn't authenticate you"
TOO_MANY_REQUESTS = "TooManyRequests"
# The desk's refusals whose status is not the one Zendesk gives for the same thing.
ZENDESK_STATUS: dict[ErrorCode, int] = {
    # Zendesk refuses a status move a ticket cannot make as an invalid record.
    ErrorCode.INVALID_TRANSITION: 422,
    ErrorCode.DUPLICATE_EMAIL: 422,
    ErrorCode.DUPLICATE_ID: 422,
    ErrorCode.NOT_CUSTOMERS: 403,
}
ERROR_BY_STATUS: dict[int, str] = {
    400: "InvalidValue",
    403: "Forbidden",
    404: "RecordNotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    422: "RecordInvalid",
    428: "PreconditionRequired",
    429: TOO_MANY_REQUESTS,
    503: "ServiceUnavailable",
}
DETAIL_ERROR: dict[ErrorCode, str] = {
    ErrorCode.DUPLICATE_EMAIL: "DuplicateValue",
    ErrorCode.DUPLICATE_ID: "DuplicateValue",
    ErrorCode.NUL_CHARACTER: "InvalidValue",
}


def zendesk_error(
    status: int,
    error: str,
    description: str,
    *,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "description": description}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def too_many_requests(verdict: RateVerdict, path: str) -> JSONResponse:
    """A client address over its rate (web/ratelimit.py), as Zendesk says it: clients wait
    for `Retry-After` and send again."""
    return zendesk_error(
        429, TOO_MANY_REQUESTS, refusal_detail(verdict), headers=refusal_headers(verdict)
    )


def invalid(field: str, description: str, error: str = "InvalidValue") -> JSONResponse:
    """422 RecordInvalid, as Zendesk answers a record that fails validation."""
    return zendesk_error(
        422,
        "RecordInvalid",
        "Record validation errors",
        details={field: [{"description": description, "error": error}]},
    )


def refusal(exc: DomainError) -> JSONResponse:
    status = ZENDESK_STATUS.get(exc.code) or STATUS_BY_CODE.get(exc.code, 400)
    if status == 401:
        return zendesk_error(
            401,
            UNAUTHENTICATED,
            exc.message,
            headers={"WWW-Authenticate": 'Basic realm="caredesk", Bearer'},
        )
    if status == 422:
        field = str(
            exc.details.get("field")
            or ("status" if exc.code is ErrorCode.INVALID_TRANSITION else "base")
        )
        return invalid(field, exc.message, DETAIL_ERROR.get(exc.code, "InvalidValue"))
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RetryLater) else None
    if status == 404:
        return zendesk_error(404, "RecordNotFound", "Not found", headers=headers)
    return zendesk_error(
        status, ERROR_BY_STATUS.get(status, "InvalidValue"), exc.message, headers=headers
    )


def _unreadable(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return zendesk_error(400, "InvalidJSON", "the request body is not valid JSON")
    details: dict[str, list[dict[str, str]]] = {}
    for err in errors:
        # The field's name without the envelope (`ticket`, `user`) and the source (`body`).
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc[1:] if len(loc) > 1 else loc) or "base"
        details.setdefault(field, []).append(
            {"description": str(err.get("msg", "")), "error": "InvalidValue"}
        )
    return zendesk_error(422, "RecordInvalid", "Record validation errors", details=details)


class ZendeskRoute(APIRoute):
    """A route of /api/v2: every refusal, the caller's credentials included, in Zendesk's
    shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return refusal(exc)
            except BodyTooLarge as exc:
                return zendesk_error(413, "PayloadTooLarge", exc.problem.message)
            except RequestValidationError as exc:
                return _unreadable(exc)

        return route


def not_supported(request: Request) -> Response:
    """Any other Zendesk request: 501, naming the endpoint, never a success the desk did not
    earn (a client that took a 404 or a 200 for an answer would act on it)."""
    endpoint = f"{request.method} {request.url.path}"
    return problem(
        501,
        ErrorCode.NOT_SUPPORTED.value,
        f"{endpoint} is not part of the Zendesk API that caredesk answers (docs/zendesk.md)",
        instance=request.url.path,
        extra={"endpoint": endpoint},
    )
