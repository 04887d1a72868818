"""ASGI middleware: request size limit and request logging."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caredesk.domain.errors import ErrorCode

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


def _carries_nul(scope: Scope, body: bytes) -> bool:
    """NUL is never meaningful in our URLs or JSON, and PostgreSQL text cannot hold it."""
    if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"").lower():
        return True
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    return b"json" in content_type.lower() and _JSON_NUL.search(body) is not None


class BodySizeLimit:
    """Refuse bodies over the limit, whether or not the client declared their length.

    The body is read (at most `max_bytes` of it) before the app sees the request, so an
    oversized stream is refused with 413 rather than failing half-parsed. Requests that
    carry a NUL character in the path, query or JSON body are refused with 400 here too.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
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
                await self._refuse(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        if _carries_nul(scope, b"".join(chunks)):
            body = _problem_bytes(
                400,
                ErrorCode.NUL_CHARACTER,
                "NUL character",
                "the request contains a NUL character, which no field accepts",
            )
            await _send_problem(send, 400, body)
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

    async def _refuse(self, send: Send) -> None:
        body = _problem_bytes(
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            "Payload too large",
            f"the request body is larger than {self.max_bytes} bytes",
        )
        await _send_problem(send, 413, body)


async def _send_problem(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AccessLog:
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
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status["code"],
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
