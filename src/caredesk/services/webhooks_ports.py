"""What webhooks out need: their tables, and something that POSTs to a receiver."""

from __future__ import annotations

from typing import Protocol

from caredesk.domain.webhooks import Delivery, Subscription


class WebhookRepository(Protocol):
    def add_subscription(self, subscription: Subscription) -> None: ...

    def get_subscription(self, subscription_id: int) -> Subscription | None: ...

    def save_subscription(self, subscription: Subscription) -> None: ...

    def delete_subscription(self, subscription_id: int) -> None: ...

    def subscriptions(self, *, active_only: bool = False) -> list[Subscription]: ...

    def add_delivery(self, delivery: Delivery) -> None: ...

    def get_delivery(self, delivery_id: int) -> Delivery | None: ...

    def save_delivery(self, delivery: Delivery) -> None: ...

    def deliveries(
        self, subscription_id: int, limit: int, before_id: int | None
    ) -> list[Delivery]: ...


class WebhookSendError(Exception):
    """The receiver could not be reached (refused, timed out, bad TLS)."""


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST the body; return the HTTP status, or raise WebhookSendError."""
        ...
