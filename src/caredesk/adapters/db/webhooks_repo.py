"""Webhook subscriptions and their delivery log as rows.

The active subscriptions, asked for by every audited change, are kept per process
(config_cache.py, kind `webhooks`): adding, changing or deleting one moves the kind's stamp."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.config_cache import Cached, ConfigKind, ConfigReads, copied
from caredesk.adapters.db.rows import add_row, from_row, got, listed, save_row
from caredesk.domain.webhooks import Delivery, Subscription

# What a delivery is from the start; a save writes only how its sending went.
_DELIVERED_AS = ("subscription_id", "event", "payload", "created_at")


def _active(session: OrmSession) -> tuple[Subscription, ...]:
    active = m.WebhookSubscriptionRow.active.is_(True)
    return tuple(listed(session, Subscription, m.WebhookSubscriptionRow, active))


_ACTIVE = Cached(ConfigKind.WEBHOOKS, _active)


class SqlWebhookRepository:
    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        self.session = session
        self.config = config

    def add_subscription(self, subscription: Subscription) -> None:
        add_row(self.session, subscription, m.WebhookSubscriptionRow())
        self.config.changed(ConfigKind.WEBHOOKS)

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        return got(self.session, Subscription, m.WebhookSubscriptionRow, subscription_id)

    def save_subscription(self, subscription: Subscription) -> None:
        save_row(self.session, subscription, m.WebhookSubscriptionRow, skip=("created_at",))
        self.config.changed(ConfigKind.WEBHOOKS)

    def delete_subscription(self, subscription_id: int) -> None:
        self.session.execute(
            delete(m.WebhookDeliveryRow).where(
                m.WebhookDeliveryRow.subscription_id == subscription_id
            )
        )
        self.session.execute(
            delete(m.WebhookSubscriptionRow).where(m.WebhookSubscriptionRow.id == subscription_id)
        )
        self.config.changed(ConfigKind.WEBHOOKS)

    def subscriptions(self, *, active_only: bool = False) -> list[Subscription]:
        if active_only:
            return [copied(s) for s in self.config.get(_ACTIVE)]
        return listed(self.session, Subscription, m.WebhookSubscriptionRow)

    def add_delivery(self, delivery: Delivery) -> None:
        add_row(self.session, delivery, m.WebhookDeliveryRow())

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        return got(self.session, Delivery, m.WebhookDeliveryRow, delivery_id)

    def save_delivery(self, delivery: Delivery) -> None:
        save_row(self.session, delivery, m.WebhookDeliveryRow, skip=_DELIVERED_AS)

    def deliveries(self, subscription_id: int, limit: int, before_id: int | None) -> list[Delivery]:
        d = m.WebhookDeliveryRow
        stmt = select(d).where(d.subscription_id == subscription_id).order_by(d.id.desc())
        if before_id is not None:
            stmt = stmt.where(d.id < before_id)
        return [from_row(Delivery, r) for r in self.session.scalars(stmt.limit(limit))]
