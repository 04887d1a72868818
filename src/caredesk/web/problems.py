"""RFC 9457 problem details: every error the API returns has a stable `code`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from caredesk.domain.errors import DomainError, ErrorCode, RetryLater
from caredesk.web.uploads import BodyTooLarge

PROBLEM_JSON = "application/problem+json"

STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.MALFORMED_JSON: 400,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.ATTACHMENTS_TOO_LARGE: 413,
    ErrorCode.TOO_MANY_ATTACHMENTS: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TOO_MANY_ATTEMPTS: 429,
    ErrorCode.ACCOUNT_LOCKED: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.TOKEN_INVALID: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.TOKEN_REVOKED: 401,
    ErrorCode.INVALID_CREDENTIALS: 401,
    ErrorCode.CSRF_FAILED: 403,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.VERSION_CONFLICT: 409,
    ErrorCode.PRECONDITION_REQUIRED: 428,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.DUPLICATE_EMAIL: 409,
    ErrorCode.DUPLICATE_ID: 409,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.IDEMPOTENCY_IN_PROGRESS: 409,
    ErrorCode.INVALID_CURSOR: 400,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.POLICY_INVALID: 422,
    ErrorCode.POLICY_REFUSED: 422,
    ErrorCode.POLICY_EMPTY: 422,
    ErrorCode.POLICY_STALE: 409,
    ErrorCode.POLICY_CHANGE_DECIDED: 409,
    ErrorCode.OWN_REQUEST: 403,
    ErrorCode.CONFIRMATION_REQUIRED: 422,
    ErrorCode.NOT_ELIGIBLE: 422,
    ErrorCode.OVER_AUTHORITY: 403,
    ErrorCode.OVER_BUDGET: 422,
    ErrorCode.GUARDRAIL: 422,
    ErrorCode.STALE_PLAN: 409,
    ErrorCode.INSUFFICIENT_BALANCE: 422,
    ErrorCode.ORDER_STATUS: 409,
    ErrorCode.NOT_CUSTOMERS: 403,
    ErrorCode.ITEM_NOT_IN_ORDER: 422,
    ErrorCode.ITEM_UNAVAILABLE: 422,
    ErrorCode.DIFFERENT_PRODUCT: 422,
    ErrorCode.INVALID_PAYMENT_METHOD: 422,
    ErrorCode.APPROVAL_DECIDED: 409,
    ErrorCode.URL_NOT_ALLOWED: 422,
    ErrorCode.INVALID_CALENDAR: 422,
    ErrorCode.INVALID_SLA_POLICY: 422,
    ErrorCode.DIFFERENT_CUSTOMERS: 409,
    ErrorCode.CANNOT_SPLIT: 422,
    ErrorCode.CANNOT_MERGE: 422,
    ErrorCode.ALREADY_UNDONE: 409,
    ErrorCode.JOB_STATE: 409,
    ErrorCode.WORKER_RUNNING: 409,
    ErrorCode.SEARCH_UNAVAILABLE: 503,
    ErrorCode.MODEL_UNAVAILABLE: 503,
    ErrorCode.NOT_ENOUGH_LABELS: 422,
    ErrorCode.TEMPLATE_INVALID: 422,
    ErrorCode.NOT_SUPPORTED: 501,
}

TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal error",
    501: "Not implemented",
    503: "Service unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://caredesk.dev/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(exc: DomainError, instance: str | None = None) -> JSONResponse:
    status = STATUS_BY_CODE.get(exc.code, 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RetryLater):
        headers = {"Retry-After": str(exc.retry_after)}
    extra = {"details": exc.details} if exc.details else None
    return problem(
        status, exc.code.value, exc.message, instance=instance, extra=extra, headers=headers
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc, request.url.path)

    @app.exception_handler(BodyTooLarge)
    async def _upload(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return domain_problem(exc.problem, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()
        ]
        status, code, detail = (
            (400, ErrorCode.MALFORMED_JSON, "the request body is not valid JSON")
            if any(e["type"] == "json_invalid" for e in errors)
            else (422, ErrorCode.VALIDATION_ERROR, "the request does not match the schema")
        )
        return problem(
            status, code.value, detail, instance=request.url.path, extra={"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: ErrorCode.NOT_FOUND,
            405: ErrorCode.METHOD_NOT_ALLOWED,
            401: ErrorCode.UNAUTHENTICATED,
            403: ErrorCode.FORBIDDEN,
        }.get(exc.status_code, ErrorCode.VALIDATION_ERROR)
        # Keep the router's headers: a 405 names the methods that are allowed in `Allow`.
        return problem(
            exc.status_code,
            code.value,
            str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )
