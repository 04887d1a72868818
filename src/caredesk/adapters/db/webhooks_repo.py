"""Webhook subscriptions and their delivery log as rows."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.domain.webhooks import Delivery, DeliveryStatus, Subscription


def _subscription(row: m.WebhookSubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        events=list(row.events),
        secret=row.secret,
        created_at=row.created_at,
        updated_at=row.updated_at,
        description=row.description,
        active=row.active,
    )


def _delivery(row: m.WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        subscription_id=row.subscription_id,
        event=row.event,
        payload=dict(row.payload),
        created_at=row.created_at,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        response_status=row.response_status,
        last_error=row.last_error,
        last_attempt_at=row.last_attempt_at,
        delivered_at=row.delivered_at,
    )


class SqlWebhookRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session
        # Read once per unit of work: every audited change asks for them.
        self._active: list[Subscription] | None = None

    def add_subscription(self, subscription: Subscription) -> None:
        row = m.WebhookSubscriptionRow(created_at=subscription.created_at)
        self._fill(row, subscription)
        self.session.add(row)
        self.session.flush()
        subscription.id = row.id
        self._active = None

    @staticmethod
    def _fill(row: m.WebhookSubscriptionRow, s: Subscription) -> None:
        row.url = s.url
        row.events = list(s.events)
        row.secret = s.secret
        row.description = s.description
        row.active = s.active
        row.updated_at = s.updated_at

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        row = self.session.get(m.WebhookSubscriptionRow, subscription_id)
        return _subscription(row) if row is not None else None

    def save_subscription(self, subscription: Subscription) -> None:
        row = self.session.get(m.WebhookSubscriptionRow, subscription.id)
        assert row is not None
        self._fill(row, subscription)
        self.session.flush()
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
        found = [_subscription(r) for r in self.session.scalars(stmt)]
        if active_only:
            self._active = found
        return found

    def add_delivery(self, delivery: Delivery) -> None:
        row = m.WebhookDeliveryRow(
            subscription_id=delivery.subscription_id,
            event=delivery.event,
            payload=delivery.payload,
            status=delivery.status.value,
            attempts=delivery.attempts,
            created_at=delivery.created_at,
        )
        self.session.add(row)
        self.session.flush()
        delivery.id = row.id

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        row = self.session.get(m.WebhookDeliveryRow, delivery_id)
        return _delivery(row) if row is not None else None

    def save_delivery(self, delivery: Delivery) -> None:
        row = self.session.get(m.WebhookDeliveryRow, delivery.id)
        assert row is not None
        row.status = delivery.status.value
        row.attempts = delivery.attempts
        row.response_status = delivery.response_status
        row.last_error = delivery.last_error
        row.last_attempt_at = delivery.last_attempt_at
        row.delivered_at = delivery.delivered_at
        self.session.flush()

    def deliveries(self, subscription_id: int, limit: int, before_id: int | None) -> list[Delivery]:
        d = m.WebhookDeliveryRow
        stmt = select(d).where(d.subscription_id == subscription_id).order_by(d.id.desc())
        if before_id is not None:
            stmt = stmt.where(d.id < before_id)
        return [_delivery(r) for r in self.session.scalars(stmt.limit(limit))]
