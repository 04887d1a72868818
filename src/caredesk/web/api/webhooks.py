"""Webhook subscriptions (admin) and their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from caredesk.services.channels import webhooks
from caredesk.web.api.common import (
    BIG_ID_MAX,
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
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
from caredesk.web.deps import ActorDep, ContainerDep, NowDep
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["webhooks"])


@router.get("/webhooks")
def list_webhooks(actor: ActorDep, container: ContainerDep) -> list[WebhookOut]:
    return [WebhookOut.of(s) for s in webhooks.list_subscriptions(container.uow.read_only(), actor)]


@router.post("/webhooks", status_code=status.HTTP_201_CREATED)
def create_webhook(
    body: WebhookIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> CreatedWebhookOut:
    """Deliveries are POSTed with `X-Caredesk-Signature: sha256=HMAC(secret, "<ts>.<body>")`
    and `X-Caredesk-Timestamp: <ts>`; failed ones are retried with backoff. A URL whose host
    resolves to a non-public address (loopback, private, link-local…) is refused with
    `url_not_allowed`, unless an admin allowed its network."""
    fields = fields_of(body, outbound=container.outbound)
    created = webhooks.create_subscription(container.uow(), actor, now, **fields)
    return CreatedWebhookOut.of(created.subscription, secret=created.secret)


@router.get("/webhooks/{webhook_id}")
def get_webhook(webhook_id: SmallIdPath, actor: ActorDep, container: ContainerDep) -> WebhookOut:
    return WebhookOut.of(webhooks.get_subscription(container.uow.read_only(), actor, webhook_id))


@router.patch("/webhooks/{webhook_id}")
def update_webhook(
    webhook_id: SmallIdPath,
    body: WebhookPatch,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
) -> WebhookOut:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return WebhookOut.of(
        webhooks.update_subscription(
            container.uow(), actor, now, webhook_id, changes, outbound=container.outbound
        )
    )


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(
    webhook_id: SmallIdPath, actor: ActorDep, container: ContainerDep, now: NowDep
) -> Response:
    webhooks.delete_subscription(container.uow(), actor, now, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: SmallIdPath,
    actor: ActorDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    before: Annotated[int | None, Query(ge=1, le=BIG_ID_MAX)] = None,
) -> list[WebhookDeliveryOut]:
    """The delivery log, newest first: each event, its tries and the receiver's answer."""
    found = webhooks.list_deliveries(container.uow.read_only(), actor, webhook_id, limit, before)
    return [WebhookDeliveryOut.of(d) for d in found]
