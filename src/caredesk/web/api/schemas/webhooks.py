"""Request and response bodies of webhooks and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from caredesk.domain.webhooks import Subscription
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
