"""Request and response bodies of webhooks and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from caredesk.domain.webhooks import Delivery, DeliveryStatus, Subscription
from caredesk.web.api.schemas.base import OutOf, Strict

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


class WebhookOut(OutOf[Subscription]):
    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(description="Signs every delivery (HMAC-SHA256); shown only now.")


class WebhookDeliveryOut(OutOf[Delivery]):
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
