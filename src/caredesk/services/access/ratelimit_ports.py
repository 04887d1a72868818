"""Request rate limits as a port: the HTTP API and the MCP server count requests through it.

The counting itself is infrastructure (adapters/ratelimit.py, on the `limits` library: in
process memory, or Redis shared by every API process); the entry points decide what is
counted under which key, and the same limiter serves both, so a token's HTTP requests and
its MCP tool calls draw on one allowance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from caredesk.domain.rates import Rate


@dataclass(frozen=True, slots=True)
class RateVerdict:
    allowed: bool
    rate: Rate
    remaining: int
    # Seconds until the window has room again (the draft RateLimit-Reset, and Retry-After).
    reset_after: int


class RateLimiter(Protocol):
    @property
    def remote(self) -> bool:
        """Whether counting goes over the network (callers on an event loop then count in a
        worker thread)."""
        ...

    def hit(self, rate: Rate, key: str) -> RateVerdict | None:
        """Count one request under `key`; None when the counts cannot be reached (the
        request goes through: the limits protect the desk, they are not its door)."""
        ...
