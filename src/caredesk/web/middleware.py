"""ASGI middleware: request size limit and request logging."""

from __future__ import annotations

import json
import re
import time
from html import escape
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caredesk.domain.attachments import readable_size
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.web.uploads import BodyLimits, BodyTooLarge, is_streamed

log = structlog.get_logger("caredesk.http")


# A JSON string escape of NUL that is not itself an escaped backslash followed by "u0000".
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _problem_bytes(status: int, code: ErrorCode, title: str, detail: str) -> bytes:
    return json.dumps(
        {
            "type": f"https://caredesk.dev/problems/{code.value}",
            "title": title,
            "status": status,
            "code": code.value,
            "detail": detail,
        }
    ).encode()


def _nul_in_address(scope: Scope) -> bool:
    return "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"").lower()


def _carries_nul(scope: Scope, body: bytes) -> bool:
    """NUL is never meaningful in our URLs or JSON, and PostgreSQL text cannot hold it."""
    if _nul_in_address(scope):
        return True
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    return b"json" in content_type.lower() and _JSON_NUL.search(body) is not None


class BodySizeLimit:
    """Refuse bodies over the limit, whether or not the client declared their length.

    A body is read (at most `max_bytes` of it) before the app sees the request, so an
    oversized stream is refused with 413 rather than failing half-parsed. Requests that
    carry a NUL character in the path, query or JSON body are refused with 400 here too.

    A multipart body (a form with files) is not read ahead: it streams to the form parser,
    counted as it goes, against the limit of the route it was routed to (`BodyLimits`: a
    route that takes files allows a message's files on top of `max_bytes`). Past it, reading
    raises `BodyTooLarge`, which the route's door answers; nothing was handed to a command,
    so nothing is written.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: BodyLimits | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.streamed is not None and is_streamed(scope):
            if _nul_in_address(scope):
                await _send_problem(send, 400, _NUL_PROBLEM)
                return
            await self._stream(self.streamed, scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        chunks_done: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away; let the app see it as it would.
                chunks_done = message
                break
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        if _carries_nul(scope, b"".join(chunks)):
            await _send_problem(send, 400, _NUL_PROBLEM)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if chunks_done is not None:
                    return chunks_done
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _stream(self, limits: BodyLimits, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _declared_length(scope)
        size = 0
        refusal: DomainError | None = None
        started = False
        replaced = False

        async def counted() -> Message:
            nonlocal size, refusal
            # Asked at each read, as the route is known only once routing is done.
            limit, past_limit = limits.for_route(scope)
            if refusal is None and declared is not None and declared > limit:
                refusal = past_limit
            if refusal is None:
                message = await receive()
                if message["type"] != "http.request":
                    return message
                size += len(message.get("body", b""))
                if size <= limit:
                    return message
                refusal = past_limit
            raise BodyTooLarge(refusal)

        async def answer(message: Message) -> None:
            nonlocal started, replaced
            if message["type"] == "http.response.start":
                started = True
                # Whatever answered a body past its limit, the answer is that it was refused.
                replaced = refusal is not None and message["status"] != 413
                if replaced:
                    assert refusal is not None
                    await _send_problem(send, 413, _domain_problem_bytes(refusal))
                    return
            if not replaced:
                await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if refusal is None or started:
                raise
            await _send_problem(send, 413, _domain_problem_bytes(refusal))

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = f"the request body is larger than {readable_size(self.max_bytes)}"
        if not scope.get("path", "").startswith("/api/"):
            # A page's form (console, portal): a page, never JSON, in a browser.
            await _send_page(send, 413, "Too large", f"What you sent is too large: {detail}.")
            return
        body = _problem_bytes(413, ErrorCode.PAYLOAD_TOO_LARGE, "Payload too large", detail)
        await _send_problem(send, 413, body)


def _domain_problem_bytes(problem: DomainError) -> bytes:
    return _problem_bytes(413, problem.code, "Payload too large", problem.message)


_NUL_PROBLEM = _problem_bytes(
    400,
    ErrorCode.NUL_CHARACTER,
    "NUL character",
    "the request contains a NUL character, which no field accepts",
)


def _declared_length(scope: Scope) -> int | None:
    declared = dict(scope.get("headers") or []).get(b"content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


async def _send_page(send: Send, status: int, title: str, text: str) -> None:
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title></head><body><h1>{escape(title)}</h1><p>{escape(text)}</p>"
        "<p>Go back, send less, and try again.</p></body></html>"
    ).encode()
    await _send(send, status, b"text/html; charset=utf-8", body)


async def _send_problem(send: Send, status: int, body: bytes) -> None:
    await _send(send, status, b"application/problem+json", body)


async def _send(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    """A whole answer sent before the app ran: nothing of the request reaches it."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestObserver:
    """Hands each HTTP request's answer (its status, or 500 when none was sent, and the time
    it took) to `answered`, once the app is done with it; the scope then also says which route
    it matched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.answered(scope, status["code"], time.perf_counter() - started)

    def answered(self, scope: Scope, status: int, seconds: float) -> None:
        raise NotImplementedError


class AccessLog(RequestObserver):
    def answered(self, scope: Scope, status: int, seconds: float) -> None:
        log.info(
            "request",
            method=scope["method"],
            path=scope["path"],
            status=status,
            ms=round(seconds * 1000, 2),
        )


class StrictTransportSecurity:
    """Production is served over HTTPS: browsers are told to come back over HTTPS only, so a
    first plain-HTTP request cannot be used to strip TLS from the session that follows."""

    def __init__(self, app: ASGIApp, max_age: int) -> None:
        self.app = app
        self.value = f"max-age={max_age}; includeSubDomains".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"strict-transport-security", self.value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_header)
