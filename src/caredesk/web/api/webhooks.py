"""Webhook subscriptions (admin) and their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from caredesk.services.channels import webhooks
from caredesk.web.api.common import (
    BIG_ID_MAX,
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    Call,
    SmallIdPath,
    fields_of,
)
from caredesk.web.api.schemas.webhooks import (
    CreatedWebhookOut,
    WebhookDeliveryOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["webhooks"])


@router.get("/webhooks")
def list_webhooks(call: Call) -> list[WebhookOut]:
    return [WebhookOut.of(s) for s in call.read(webhooks.list_subscriptions)]


@router.post("/webhooks", status_code=status.HTTP_201_CREATED)
def create_webhook(body: WebhookIn, call: Call) -> CreatedWebhookOut:
    """Deliveries are POSTed with `X-Caredesk-Signature: sha256=HMAC(secret, "<ts>.<body>")`
    and `X-Caredesk-Timestamp: <ts>`; failed ones are retried with backoff. A URL whose host
    resolves to a non-public address (loopback, private, link-local…) is refused with
    `url_not_allowed`, unless an admin allowed its network."""
    fields = fields_of(body, outbound=call.container.outbound)
    created = call.run(webhooks.create_subscription, **fields)
    return CreatedWebhookOut.of(created.subscription, secret=created.secret)


@router.get("/webhooks/{webhook_id}")
def get_webhook(webhook_id: SmallIdPath, call: Call) -> WebhookOut:
    return WebhookOut.of(call.read(webhooks.get_subscription, webhook_id))


@router.patch("/webhooks/{webhook_id}")
def update_webhook(webhook_id: SmallIdPath, body: WebhookPatch, call: Call) -> WebhookOut:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return WebhookOut.of(
        call.run(
            webhooks.update_subscription, webhook_id, changes, outbound=call.container.outbound
        )
    )


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: SmallIdPath, call: Call) -> Response:
    call.run(webhooks.delete_subscription, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: SmallIdPath,
    call: Call,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    before: Annotated[int | None, Query(ge=1, le=BIG_ID_MAX)] = None,
) -> list[WebhookDeliveryOut]:
    """The delivery log, newest first: each event, its tries and the receiver's answer."""
    found = call.read(webhooks.list_deliveries, webhook_id, limit, before)
    return [WebhookDeliveryOut.of(d) for d in found]
