"""Webhooks out: subscriptions to case and grant events, and how a delivery is signed.

A receiver checks `X-Caredesk-Signature: sha256=<hex>`, the HMAC-SHA256 under the
subscription's secret of `<X-Caredesk-Timestamp>.<raw body>`, and refuses old timestamps,
so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from caredesk.domain.audit import AuditEvent
from caredesk.domain.errors import ValidationFailed

SIGNATURE_HEADER = "X-Caredesk-Signature"
TIMESTAMP_HEADER = "X-Caredesk-Timestamp"
EVENT_HEADER = "X-Caredesk-Event"
DELIVERY_HEADER = "X-Caredesk-Delivery"
# Events about a case (its messages, status, SLA, lifecycle) and about grants and approvals.
GRANT_ENTITIES = frozenset({"grant", "approval"})
_PATTERN = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$")
MAX_EVENTS = 50
# Events renamed after the glossary, with the names they had first. A subscription to a
# former name (or to a pattern only the former name matches) still receives the event, under
# that name, so a receiver written against it sees what it always saw (docs/glossary.md,
# "Deprecated names").
FORMER_NAMES = {"survey.sent": "csat.sent", "survey.answered": "csat.answered"}


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # the last try failed; the job queue tries again after a backoff
    DEAD = "dead"  # the receiver refused for good (a 4xx other than 408/429)
    SKIPPED = "skipped"  # the subscription was paused or removed before the try
    REFUSED = "refused"  # the receiver's host resolved to an address the desk may not reach


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise ValidationFailed(
            "a webhook URL is an http(s) address with a host", details={"field": "url"}
        )
    if parts.username or parts.password:
        raise ValidationFailed(
            "put no credentials in a webhook URL: deliveries are signed instead",
            details={"field": "url"},
        )
    return url


def check_events(events: list[str]) -> list[str]:
    cleaned = sorted({e.strip() for e in events})
    if not cleaned or len(cleaned) > MAX_EVENTS:
        raise ValidationFailed(
            f"subscribe to 1 to {MAX_EVENTS} events, such as 'case.*' or 'grant.executed'",
            details={"field": "events"},
        )
    for pattern in cleaned:
        if not _PATTERN.match(pattern):
            raise ValidationFailed(
                f"{pattern!r} is not an event name or a pattern like 'case.*'",
                details={"field": "events", "value": pattern},
            )
    return cleaned


def _matches_name(patterns: list[str], name: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


def delivered_as(patterns: list[str], action: str) -> str | None:
    """The name a subscription receives this event under, or None when it did not ask for it:
    the event's own name when a pattern matches it, else the former name one matches."""
    if _matches_name(patterns, action):
        return action
    former = FORMER_NAMES.get(action)
    if former is not None and _matches_name(patterns, former):
        return former
    return None


def matches(patterns: list[str], action: str) -> bool:
    return delivered_as(patterns, action) is not None


def concerns_case_or_grant(event: AuditEvent) -> bool:
    return event.case_id is not None or event.entity_type in GRANT_ENTITIES


def event_payload(event: AuditEvent, name: str | None = None) -> dict[str, Any]:
    """The body of a delivery; `name` is the event's name as the subscription asked for it."""
    return {
        "event": name or event.action,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "case_id": event.case_id,
        "before": event.before,
        "after": event.after,
    }


@dataclass(slots=True)
class Subscription:
    id: int | None
    url: str
    events: list[str]
    secret: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    active: bool = True

    def __post_init__(self) -> None:
        self.url = check_url(self.url)
        self.events = check_events(self.events)
        self.description = self.description.strip()[:200]


@dataclass(slots=True)
class Delivery:
    id: int | None
    subscription_id: int
    event: str
    payload: dict[str, Any]
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    response_status: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = field(default=None)
