"""Request and response bodies of webhooks and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from caredesk.domain.webhooks import Delivery, DeliveryStatus, Subscription
from caredesk.web.api.schemas.base import Strict

Url = Annotated[str, StringConstraints(max_length=2000)]
EventName = Annotated[str, StringConstraints(max_length=100)]


class WebhookIn(Strict):
    url: Url
    events: list[EventName] = Field(
        max_length=50, description="Event names or patterns: 'case.*', 'grant.executed', '*'."
    )
    description: Annotated[str, StringConstraints(max_length=200)] = ""


class WebhookPatch(Strict):
    url: Url | None = None
    events: list[EventName] | None = Field(default=None, max_length=50)
    description: Annotated[str, StringConstraints(max_length=200)] | None = None
    active: bool | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Subscription) -> WebhookOut:
        assert s.id is not None
        return cls(
            id=s.id,
            url=s.url,
            events=s.events,
            description=s.description,
            active=s.active,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(description="Signs every delivery (HMAC-SHA256); shown only now.")


class WebhookDeliveryOut(BaseModel):
    """One attempt, with its retries, to send an event to a subscriber."""

    id: int
    event: str
    status: DeliveryStatus
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, d: Delivery) -> WebhookDeliveryOut:
        assert d.id is not None
        return cls(
            id=d.id,
            event=d.event,
            status=d.status,
            attempts=d.attempts,
            response_status=d.response_status,
            last_error=d.last_error,
            created_at=d.created_at,
            last_attempt_at=d.last_attempt_at,
            delivered_at=d.delivered_at,
            payload=d.payload,
        )
