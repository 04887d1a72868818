"""Webhook subscriptions and their delivery log as rows."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import add_row, from_row, got, save_row
from caredesk.domain.webhooks import Delivery, Subscription

# What a delivery is from the start; a save writes only how its sending went.
_DELIVERED_AS = ("subscription_id", "event", "payload", "created_at")


class SqlWebhookRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session
        # Read once per unit of work: every audited change asks for them.
        self._active: list[Subscription] | None = None

    def add_subscription(self, subscription: Subscription) -> None:
        add_row(self.session, subscription, m.WebhookSubscriptionRow())
        self._active = None

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        return got(self.session, Subscription, m.WebhookSubscriptionRow, subscription_id)

    def save_subscription(self, subscription: Subscription) -> None:
        save_row(self.session, subscription, m.WebhookSubscriptionRow, skip=("created_at",))
        self._active = None

    def delete_subscription(self, subscription_id: int) -> None:
        self.session.execute(
            delete(m.WebhookDeliveryRow).where(
                m.WebhookDeliveryRow.subscription_id == subscription_id
            )
        )
        self.session.execute(
            delete(m.WebhookSubscriptionRow).where(m.WebhookSubscriptionRow.id == subscription_id)
        )
        self._active = None

    def subscriptions(self, *, active_only: bool = False) -> list[Subscription]:
        if active_only and self._active is not None:
            return self._active
        stmt = select(m.WebhookSubscriptionRow).order_by(m.WebhookSubscriptionRow.id)
        if active_only:
            stmt = stmt.where(m.WebhookSubscriptionRow.active.is_(True))
        found = [from_row(Subscription, r) for r in self.session.scalars(stmt)]
        if active_only:
            self._active = found
        return found

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
