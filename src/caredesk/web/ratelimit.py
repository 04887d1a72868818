"""Rate limits on the HTTP API: per client address here, per token in `deps`.

Every request under an API prefix (/api/v1, /api/v2) counts against its client address
before anything else runs (no body read, no token looked up), so a flood costs the desk next
to nothing. Once
the caller is known, `count_caller` counts it against its token (or console session), at
the token's own rate when it has one. Each limited response carries the tightest of the
two in the `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` fields of the
IETF draft (draft-ietf-httpapi-ratelimit-headers, the separate-field form); a refusal is a
429 with `Retry-After`, in the shape of the API it refuses: a problem with code
`rate_limited` on /api/v1, Zendesk's `{"error": "TooManyRequests", ...}` on /api/v2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import anyio
from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caredesk.domain.errors import ErrorCode, RetryLater
from caredesk.domain.rates import Rate
from caredesk.services.access.ports import RateLimiter, RateVerdict
from caredesk.web.problems import problem

# Where the verdicts of one request wait for its response headers (the ASGI scope's state,
# which is also `request.state`).
VERDICTS = "rate_limit_verdicts"

# How an API says "too many requests" to a client address: (the verdict, the path) → answer.
Refusal = Callable[[RateVerdict, str], Response]


def _headers(verdict: RateVerdict) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(verdict.rate.amount),
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(verdict.reset_after),
    }


def _tightest(verdicts: list[RateVerdict]) -> RateVerdict:
    return min(verdicts, key=lambda v: (v.remaining, -v.reset_after))


def refusal_detail(verdict: RateVerdict) -> str:
    return f"too many requests ({verdict.rate}); try again in {verdict.reset_after} seconds"


def refusal_headers(verdict: RateVerdict) -> dict[str, str]:
    return {"Retry-After": str(verdict.reset_after), **_headers(verdict)}


def problem_refusal(verdict: RateVerdict, path: str) -> Response:
    return problem(
        429,
        ErrorCode.RATE_LIMITED.value,
        refusal_detail(verdict),
        instance=path,
        extra={"details": {"limit": str(verdict.rate), "scope": "client"}},
        headers=refusal_headers(verdict),
    )


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        per_client: Rate,
        refusals: Mapping[str, Refusal],
    ):
        """`refusals`: each API prefix counted, with how it refuses a client over its rate."""
        self.app = app
        self.limiter = limiter
        self.per_client = per_client
        self.refusals = refusals

    def _refusal(self, path: str) -> Refusal | None:
        for prefix, refusal in self.refusals.items():
            if path == prefix or path.startswith(prefix + "/"):
                return refusal
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        refusal = self._refusal(path) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = f"client:{client[0] if client else 'unknown'}"
        if self.limiter.remote:
            verdict = await anyio.to_thread.run_sync(self.limiter.hit, self.per_client, key)
        else:
            # In-process counting takes microseconds: a thread hop would cost more.
            verdict = self.limiter.hit(self.per_client, key)
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            await refusal(verdict, path)(scope, receive, send)
            return
        verdicts: list[RateVerdict] = [verdict]
        scope.setdefault("state", {})[VERDICTS] = verdicts

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _headers(_tightest(verdicts)).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def count_caller(request: Request, limiter: RateLimiter | None, rate: Rate, key: str) -> None:
    """Count a request against its caller (`token:<id>`, `agent:<id>`); refuse it past the
    rate. Called from a dependency, in a worker thread: a remote limiter may block here."""
    if limiter is None:
        return
    verdict = limiter.hit(rate, key)
    if verdict is None:
        return
    verdicts = request.scope.setdefault("state", {}).setdefault(VERDICTS, [])
    verdicts.append(verdict)
    if not verdict.allowed:
        raise RetryLater(
            refusal_detail(verdict),
            code=ErrorCode.RATE_LIMITED,
            retry_after=verdict.reset_after,
            details={"limit": str(verdict.rate), "scope": "token"},
        )
