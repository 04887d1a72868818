"""`Idempotency-Key` on POST: the first response is stored and replayed, never re-executed.

The key is claimed in its own committed transaction before the handler runs, so a second
request with the same key (concurrent or later) finds it: a finished one gets the stored
response, one still running gets 409 `idempotency_in_progress`, one with a different body
gets 422 `idempotency_key_reused`. Keys are scoped to the credential that sent them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from caredesk.bootstrap import Container
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.core import idempotency
from caredesk.services.core.ports import IdempotencyRecord, StoredResponse
from caredesk.web.deps import SESSION_COOKIE
from caredesk.web.problems import domain_problem, problem

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200
_REPLAYED_HEADERS = ("content-type", "location", "etag")


def _principal(request: Request) -> str | None:
    credential = request.headers.get("authorization") or request.cookies.get(SESSION_COOKIE)
    if not credential:
        return None
    return hashlib.sha256(credential.encode()).hexdigest()[:40]


def _reserve(container: Container, record: IdempotencyRecord) -> IdempotencyRecord | None:
    return idempotency.claim(container.uow(), record)


def _complete(container: Container, principal: str, key: str, response: StoredResponse) -> None:
    idempotency.store_response(container.uow(), principal, key, response)


def _release(container: Container, principal: str, key: str) -> None:
    idempotency.release(container.uow(), principal, key)


class IdempotentRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            key = request.headers.get(HEADER)
            principal = _principal(request)
            if request.method != "POST" or not key or principal is None:
                return await handler(request)
            if len(key) > MAX_KEY_LENGTH:
                return problem(
                    422,
                    ErrorCode.VALIDATION_ERROR.value,
                    f"{HEADER} is longer than {MAX_KEY_LENGTH} characters",
                )
            try:
                fingerprint = await _fingerprint(request)
                return await _once(request, handler, principal, key, fingerprint)
            finally:
                # A form read for its fingerprint closes its files, even when it is replayed.
                await request.close()

        return route


async def _fingerprint(request: Request) -> str:
    """What the request asks, to tell a repeat from another request under the same key.

    A multipart body is read through the form parser (which the route then reuses) and its
    files hashed in chunks, so an upload is never held whole in memory for this.
    """
    digest = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n")
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        digest.update(await request.body())
        return digest.hexdigest()
    form = await request.form()
    for name, value in form.multi_items():
        digest.update(b"\0field\0" + name.encode() + b"\0")
        if isinstance(value, str):
            digest.update(value.encode())
            continue
        digest.update(f"{value.filename}\0{value.content_type}\0{value.size}\0".encode())
        while chunk := await value.read(_CHUNK):
            digest.update(chunk)
        await value.seek(0)
    return digest.hexdigest()


_CHUNK = 1_048_576


async def _once(
    request: Request,
    handler: Callable[[Request], Coroutine[Any, Any, Response]],
    principal: str,
    key: str,
    fingerprint: str,
) -> Response:
    container: Container = request.app.state.container
    record = IdempotencyRecord(
        principal=principal,
        key=key,
        fingerprint=fingerprint,
        created_at=container.clock.now(),
    )
    existing = await run_in_threadpool(_reserve, container, record)
    if existing is not None:
        return _answer_repeat(existing, fingerprint)
    try:
        response = await handler(request)
    except DomainError as exc:
        await run_in_threadpool(_release, container, principal, key)
        return domain_problem(exc, request.url.path)
    except BaseException:
        await run_in_threadpool(_release, container, principal, key)
        raise
    if 200 <= response.status_code < 300:
        stored = StoredResponse(
            status_code=response.status_code,
            body=bytes(response.body),
            headers={k: v for k, v in response.headers.items() if k in _REPLAYED_HEADERS},
        )
        await run_in_threadpool(_complete, container, principal, key, stored)
    else:
        # Only successes are remembered: a refused request may be corrected and retried.
        await run_in_threadpool(_release, container, principal, key)
    return response


def _answer_repeat(existing: IdempotencyRecord, fingerprint: str) -> Response:
    if existing.fingerprint != fingerprint:
        return problem(
            422,
            ErrorCode.IDEMPOTENCY_KEY_REUSED.value,
            f"this {HEADER} was used for a different request",
        )
    if existing.response is None:
        return problem(
            409,
            ErrorCode.IDEMPOTENCY_IN_PROGRESS.value,
            f"a request with this {HEADER} is still being processed",
            headers={"Retry-After": "1"},
        )
    headers = dict(existing.response.headers)
    headers[REPLAY_HEADER] = "true"
    return Response(
        content=existing.response.body,
        status_code=existing.response.status_code,
        headers=headers,
    )
