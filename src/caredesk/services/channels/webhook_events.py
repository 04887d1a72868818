"""Turning audit events into webhook deliveries, in the transaction that records them.

Called by `services/audit.record`, so every audited change to a case or a grant reaches
its subscribers exactly when (and only if) the change commits: the delivery rows and
their jobs are written in the same unit of work.
"""

from __future__ import annotations

from caredesk.domain.audit import AuditEvent
from caredesk.domain.webhooks import Delivery, concerns_case_or_grant, delivered_as, event_payload
from caredesk.services.channels.unit import WebhooksUnit
from caredesk.services.core import jobs

DELIVER_KIND = "webhook.deliver"


def emit(uow: WebhooksUnit, event: AuditEvent) -> int:
    """Queue a delivery for each active subscription to this event; return how many."""
    if not concerns_case_or_grant(event):
        return 0
    queued = 0
    for subscription in uow.webhooks.subscriptions(active_only=True):
        name = delivered_as(subscription.events, event.action)
        if subscription.id is None or name is None:
            continue
        delivery = Delivery(
            id=None,
            subscription_id=subscription.id,
            event=name,
            payload=event_payload(event, name),
            created_at=event.at,
        )
        uow.webhooks.add_delivery(delivery)
        jobs.enqueue(
            uow,
            DELIVER_KIND,
            {"delivery_id": delivery.id},
            now=event.at,
            key=f"{DELIVER_KIND}:{delivery.id}",
        )
        queued += 1
    return queued
