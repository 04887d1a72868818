"""What webhooks out need: their tables, a resolver of host names, and something that POSTs
to a receiver at the address that was checked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from caredesk.domain.outbound import IPAddress
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


class HostUnresolved(Exception):
    """The host name could not be looked up (no such name, or the resolver failed)."""


class HostResolver(Protocol):
    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address the HTTP client could connect to for this host, as it would look
        them up (numeric forms such as 0x7f000001 included); raise HostUnresolved."""
        ...


class WebhookSender(Protocol):
    def post(
        self, url: str, addresses: Sequence[IPAddress], body: bytes, headers: dict[str, str]
    ) -> int:
        """POST the body to the URL, connecting only to these (checked) addresses, never
        following a redirect; return the HTTP status, or raise WebhookSendError."""
        ...
