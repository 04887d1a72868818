"""Webhook subscriptions, and delivering events to them through the job queue."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import must_exist
from caredesk.domain.outbound import (
    IPAddress,
    IPNetwork,
    UrlNotAllowed,
    check_addresses,
    host_and_port,
)
from caredesk.domain.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Delivery,
    DeliveryStatus,
    Subscription,
    check_url,
    sign,
)
from caredesk.services.channels.ports import (
    HostResolver,
    HostUnresolved,
    WebhookSender,
    WebhookSendError,
)
from caredesk.services.channels.unit import WebhooksUnit
from caredesk.services.channels.webhook_events import DELIVER_KIND
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.jobs import (
    HandlerRegistry,
    JobContext,
    PermanentFailure,
    TemporaryFailure,
)
from caredesk.services.core.ports import Clock
from caredesk.services.core.reads import read

# Worth another try: the receiver is busy or briefly broken. Any other 4xx is a refusal.
RETRYABLE_STATUS = frozenset({408, 425, 429})
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Outbound:
    """How the desk looks a receiver up, and the non-public networks an admin allowed."""

    resolver: HostResolver
    allowed_networks: tuple[IPNetwork, ...] = ()

    def addresses(self, url: str) -> list[IPAddress]:
        """Every address the URL's host resolves to now, each one allowed; else UrlNotAllowed."""
        host, port = host_and_port(url)
        try:
            found = self.resolver.resolve(host, port)
        except HostUnresolved as exc:
            raise UrlNotAllowed(
                f"{host} does not resolve ({exc}): the desk checks where a webhook goes "
                "before it subscribes",
                details={"field": "url", "host": host},
            ) from exc
        check_addresses(host, found, self.allowed_networks)
        return found


@dataclass(frozen=True, slots=True)
class CreatedSubscription:
    subscription: Subscription
    secret: str


def _snapshot(s: Subscription) -> dict[str, Any]:
    # Never the secret: the audit trail is readable by more people than its owner.
    return {"url": s.url, "events": s.events, "active": s.active, "description": s.description}


@command
def create_subscription(
    uow: WebhooksUnit,
    actor: Actor,
    now: datetime,
    *,
    url: str,
    events: list[str],
    description: str = "",
    outbound: Outbound,
) -> CreatedSubscription:
    """Subscribe a URL to events; the signing secret is returned this once.

    The URL's host is resolved now and refused if any address is not public (or allowed)."""
    actor.require(Permission.MANAGE_WEBHOOKS)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = Subscription(
        id=None,
        url=url,
        events=events,
        secret=secret,
        created_at=now,
        updated_at=now,
        description=description,
    )
    # Before the transaction: a slow name server must not hold database locks.
    outbound.addresses(subscription.url)
    with uow:
        uow.webhooks.add_subscription(subscription)
        publish_change(
            uow,
            actor,
            now,
            "webhook.created",
            "webhook",
            subscription.id,
            after=_snapshot(subscription),
        )
        uow.commit()
    return CreatedSubscription(subscription, secret)


def list_subscriptions(uow: WebhooksUnit, actor: Actor) -> list[Subscription]:
    return read(uow, actor, Permission.MANAGE_WEBHOOKS, lambda u: u.webhooks.subscriptions())


def get_subscription(uow: WebhooksUnit, actor: Actor, subscription_id: int) -> Subscription:
    return read(uow, actor, Permission.MANAGE_WEBHOOKS, lambda u: _load(u, subscription_id))


def _load(uow: WebhooksUnit, subscription_id: int) -> Subscription:
    return must_exist(uow.webhooks.get_subscription(subscription_id), "webhook", subscription_id)


@command
def update_subscription(
    uow: WebhooksUnit,
    actor: Actor,
    now: datetime,
    subscription_id: int,
    changes: Mapping[str, Any],
    *,
    outbound: Outbound,
) -> Subscription:
    actor.require(Permission.MANAGE_WEBHOOKS)
    if "url" in changes:
        outbound.addresses(check_url(changes["url"]))
    with uow:
        current = _load(uow, subscription_id)
        before = _snapshot(current)
        updated = Subscription(
            id=subscription_id,
            url=changes.get("url", current.url),
            events=changes.get("events", current.events),
            secret=current.secret,
            created_at=current.created_at,
            updated_at=now,
            description=changes.get("description", current.description),
            active=changes.get("active", current.active),
        )
        uow.webhooks.save_subscription(updated)
        publish_change(
            uow,
            actor,
            now,
            "webhook.updated",
            "webhook",
            subscription_id,
            before=before,
            after=_snapshot(updated),
        )
        uow.commit()
        return updated


@command
def delete_subscription(
    uow: WebhooksUnit, actor: Actor, now: datetime, subscription_id: int
) -> None:
    actor.require(Permission.MANAGE_WEBHOOKS)
    with uow:
        current = _load(uow, subscription_id)
        uow.webhooks.delete_subscription(subscription_id)
        publish_change(
            uow,
            actor,
            now,
            "webhook.deleted",
            "webhook",
            subscription_id,
            before=_snapshot(current),
        )
        uow.commit()


def list_deliveries(
    uow: WebhooksUnit, actor: Actor, subscription_id: int, limit: int, before_id: int | None
) -> list[Delivery]:
    actor.require(Permission.MANAGE_WEBHOOKS)
    with uow:
        _load(uow, subscription_id)
        return uow.webhooks.deliveries(subscription_id, limit, before_id)


def delivery_body(delivery: Delivery) -> bytes:
    return json.dumps(
        {"id": delivery.id, **delivery.payload}, separators=(",", ":"), ensure_ascii=False
    ).encode()


def deliver(
    uow: Callable[[], WebhooksUnit],
    clock: Clock,
    sender: WebhookSender,
    outbound: Outbound,
    delivery_id: int,
) -> None:
    """Send one delivery; idempotent (a delivered one is not sent again).

    The receiver's host is resolved again at every try and the request goes to the addresses
    checked then: a name that pointed outside at subscription may point inside today. A
    refused destination is logged as refused, with no request sent at all.
    A dead one is sent again: only an admin retrying its dead job brings it back here.
    """
    with uow() as unit:
        delivery = unit.webhooks.get_delivery(delivery_id)
        if delivery is None or delivery.status is DeliveryStatus.DELIVERED:
            return
        subscription = unit.webhooks.get_subscription(delivery.subscription_id)
        if subscription is None or not subscription.active:
            delivery.status = DeliveryStatus.SKIPPED
            unit.webhooks.save_delivery(delivery)
            unit.commit()
            return
    now = clock.now()
    body = delivery_body(delivery)
    headers = _signed_headers(subscription, delivery, int(now.timestamp()), body)
    status: int | None = None
    error: str | None = None
    refused: str | None = None
    host, port = host_and_port(subscription.url)
    try:
        # Outside any transaction: a slow name server or receiver must not hold locks.
        addresses = outbound.resolver.resolve(host, port)
        check_addresses(host, addresses, outbound.allowed_networks)
        status = sender.post(subscription.url, addresses, body, headers)
    except HostUnresolved as exc:
        error = f"{host} does not resolve: {exc}"[:MAX_ERROR_LENGTH]
    except UrlNotAllowed as exc:
        refused = exc.message[:MAX_ERROR_LENGTH]
    except WebhookSendError as exc:
        error = str(exc)[:MAX_ERROR_LENGTH] or type(exc).__name__
    outcome, error = _outcome(status, error, refused)
    with uow() as unit:
        current = unit.webhooks.get_delivery(delivery_id)
        if current is None:
            return
        current.attempts += 1
        current.status = outcome
        current.response_status = status
        current.last_error = error if outcome is not DeliveryStatus.DELIVERED else None
        current.last_attempt_at = now
        if outcome is DeliveryStatus.DELIVERED:
            current.delivered_at = now
        unit.webhooks.save_delivery(current)
        unit.commit()
    if outcome in (DeliveryStatus.DEAD, DeliveryStatus.REFUSED):
        raise PermanentFailure(error)
    if outcome is DeliveryStatus.FAILED:
        raise TemporaryFailure(error)


def _signed_headers(
    subscription: Subscription, delivery: Delivery, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "caredesk-webhooks",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
    }


def _outcome(
    status: int | None, error: str | None, refused: str | None
) -> tuple[DeliveryStatus, str | None]:
    """What a try came to, and the error it logs: refused, delivered, dead or to try again."""
    if refused is not None:
        # Nothing was sent: the log says why, never what anything inside would answer.
        return DeliveryStatus.REFUSED, refused
    if status is not None and 200 <= status < 300:
        return DeliveryStatus.DELIVERED, error
    if status is not None and 400 <= status < 500 and status not in RETRYABLE_STATUS:
        return DeliveryStatus.DEAD, f"the receiver answered {status}"
    return DeliveryStatus.FAILED, error or f"the receiver answered {status}"


def register_webhooks(registry: HandlerRegistry, sender: WebhookSender, outbound: Outbound) -> None:
    def handle(ctx: JobContext, payload: dict[str, Any]) -> None:
        deliver(ctx.uow, ctx.clock, sender, outbound, int(payload["delivery_id"]))

    registry.register(DELIVER_KIND, handle)
