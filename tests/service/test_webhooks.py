"""Webhook subscriptions and deliveries, decided by the commands alone."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, ip_address
from typing import Any

import pytest

from caredesk.domain.agents import Actor, Role
from caredesk.domain.errors import Forbidden, NotFound
from caredesk.domain.events import Changed
from caredesk.domain.outbound import IPAddress, UrlNotAllowed
from caredesk.domain.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Delivery,
    DeliveryStatus,
    verify,
)
from caredesk.services.channels import webhooks
from caredesk.services.channels.ports import HostUnresolved, WebhookSendError
from caredesk.services.core.jobs import PermanentFailure, TemporaryFailure
from tests.conftest import ManualClock
from tests.service.fakes import FakeUnitOfWork

ADMIN = Actor(role=Role.ADMIN, agent_id=1)
AGENT = Actor(role=Role.AGENT, agent_id=2)
PUBLIC = "93.184.216.34"
PRIVATE = "10.1.2.3"


class Resolver:
    """Answers every host with the addresses the test set, as a name server would today."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = [ip_address(a) for a in addresses]

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        if not self.addresses:
            raise HostUnresolved("NXDOMAIN")
        return list(self.addresses)


class Receiver:
    """Records what it was sent and answers with the status the test set."""

    def __init__(self, status: int = 200, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self.sent: list[tuple[str, list[IPAddress], bytes, dict[str, str]]] = []

    def post(
        self, url: str, addresses: Sequence[IPAddress], body: bytes, headers: dict[str, str]
    ) -> int:
        self.sent.append((url, list(addresses), body, headers))
        if self.error is not None:
            raise WebhookSendError(self.error)
        return self.status


def subscribe(
    uow: FakeUnitOfWork, clock: ManualClock, **fields: Any
) -> webhooks.CreatedSubscription:
    return webhooks.create_subscription(
        uow,
        ADMIN,
        clock.now(),
        url=fields.get("url", "https://hooks.example.com/desk"),
        events=fields.get("events", ["case.created"]),
        outbound=fields.get("outbound", webhooks.Outbound(Resolver(PUBLIC))),
    )


def pending_delivery(uow: FakeUnitOfWork, clock: ManualClock, subscription_id: int) -> int:
    delivery = Delivery(
        id=None,
        subscription_id=subscription_id,
        event="case.created",
        payload={"case_id": 7},
        created_at=clock.now(),
    )
    uow.webhooks.add_delivery(delivery)
    assert delivery.id is not None
    return delivery.id


def subscribed_delivery(uow: FakeUnitOfWork, clock: ManualClock) -> tuple[int, int]:
    """A subscription and one delivery waiting for it."""
    subscription_id = subscribe(uow, clock).subscription.id
    assert subscription_id is not None
    return subscription_id, pending_delivery(uow, clock, subscription_id)


def test_a_subscription_is_stored_and_its_secret_shown_once_never_audited(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    created = subscribe(uow, clock)

    stored = uow.webhooks.subscriptions()
    assert [s.url for s in stored] == ["https://hooks.example.com/desk"]
    assert created.secret.startswith("whsec_") and stored[0].secret == created.secret
    [event] = uow.events
    assert isinstance(event, Changed) and event.action == "webhook.created"
    assert created.secret not in repr(event.after)


@pytest.mark.parametrize(
    ("resolver", "allowed"),
    [
        (Resolver(PRIVATE), ()),
        (Resolver(PUBLIC, PRIVATE), ()),  # one inside address is enough to refuse
        (Resolver("127.0.0.1"), ()),
        (Resolver(), ()),  # a name that does not resolve
        (Resolver(PRIVATE), (IPv4Network("10.9.0.0/16"),)),  # another network allowed
    ],
)
def test_a_url_that_reaches_inside_is_refused_before_anything_is_written(
    uow: FakeUnitOfWork, clock: ManualClock, resolver: Resolver, allowed: tuple[IPv4Network, ...]
) -> None:
    with pytest.raises(UrlNotAllowed):
        subscribe(uow, clock, outbound=webhooks.Outbound(resolver, allowed))
    assert uow.webhooks.subscriptions() == [] and uow.commits == 0


def test_a_network_the_admin_allowed_may_be_subscribed(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    outbound = webhooks.Outbound(Resolver(PRIVATE), (IPv4Network("10.1.0.0/16"),))
    subscribe(uow, clock, outbound=outbound)
    assert len(uow.webhooks.subscriptions()) == 1


def test_an_agent_may_not_manage_webhooks(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    with pytest.raises(Forbidden):
        webhooks.create_subscription(
            uow,
            AGENT,
            clock.now(),
            url="https://hooks.example.com/desk",
            events=["case.created"],
            outbound=webhooks.Outbound(Resolver(PUBLIC)),
        )
    assert uow.webhooks.subscriptions() == [] and uow.events == []


def test_an_update_checks_a_new_url_and_records_before_and_after(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    created = subscribe(uow, clock)
    assert created.subscription.id is not None
    with pytest.raises(UrlNotAllowed):
        webhooks.update_subscription(
            uow,
            ADMIN,
            clock.now(),
            created.subscription.id,
            {"url": "https://inside.example.com/"},
            outbound=webhooks.Outbound(Resolver(PRIVATE)),
        )
    updated = webhooks.update_subscription(
        uow,
        ADMIN,
        clock.now(),
        created.subscription.id,
        {"active": False},
        outbound=webhooks.Outbound(Resolver(PUBLIC)),
    )
    assert updated.active is False and updated.secret == created.secret
    event = uow.events[-1]
    assert isinstance(event, Changed) and event.action == "webhook.updated"
    assert event.before is not None and event.before["active"] is True
    assert event.after is not None and event.after["active"] is False


def test_an_unknown_subscription_is_not_found_and_nothing_commits(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    with pytest.raises(NotFound):
        webhooks.delete_subscription(uow, ADMIN, clock.now(), 404)
    assert uow.commits == 0


def test_deleting_a_subscription_deletes_its_deliveries(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    kept = subscribe(uow, clock).subscription.id
    gone = subscribe(uow, clock).subscription.id
    assert kept is not None and gone is not None
    pending_delivery(uow, clock, kept)
    pending_delivery(uow, clock, gone)

    webhooks.delete_subscription(uow, ADMIN, clock.now(), gone)

    assert [s.id for s in uow.webhooks.subscriptions()] == [kept]
    assert uow.webhooks.deliveries(gone, 10, None) == []
    assert len(webhooks.list_deliveries(uow, ADMIN, kept, 10, None)) == 1
    with pytest.raises(NotFound):
        webhooks.list_deliveries(uow, ADMIN, gone, 10, None)


def deliver(
    uow: FakeUnitOfWork,
    clock: ManualClock,
    receiver: Receiver,
    resolver: Resolver,
    delivery_id: int,
) -> None:
    webhooks.deliver(lambda: uow, clock, receiver, webhooks.Outbound(resolver), delivery_id)


def test_a_delivery_is_signed_sent_once_and_marked_delivered(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    created = subscribe(uow, clock)
    assert created.subscription.id is not None
    delivery_id = pending_delivery(uow, clock, created.subscription.id)
    receiver = Receiver(204)

    deliver(uow, clock, receiver, Resolver(PUBLIC), delivery_id)
    deliver(uow, clock, receiver, Resolver(PUBLIC), delivery_id)

    [(url, addresses, body, headers)] = receiver.sent
    assert url == created.subscription.url and addresses == [ip_address(PUBLIC)]
    assert verify(created.secret, int(headers[TIMESTAMP_HEADER]), body, headers[SIGNATURE_HEADER])
    done = uow.webhooks.get_delivery(delivery_id)
    assert done is not None and done.status is DeliveryStatus.DELIVERED
    assert done.attempts == 1 and done.delivered_at == clock.now()


@pytest.mark.parametrize(
    ("receiver", "status", "failure"),
    [
        (Receiver(500), DeliveryStatus.FAILED, TemporaryFailure),
        (Receiver(429), DeliveryStatus.FAILED, TemporaryFailure),
        (Receiver(error="connection reset"), DeliveryStatus.FAILED, TemporaryFailure),
        (Receiver(410), DeliveryStatus.DEAD, PermanentFailure),
    ],
)
def test_a_failed_try_says_whether_to_try_again(
    uow: FakeUnitOfWork,
    clock: ManualClock,
    receiver: Receiver,
    status: DeliveryStatus,
    failure: type[Exception],
) -> None:
    _, delivery_id = subscribed_delivery(uow, clock)

    with pytest.raises(failure):
        deliver(uow, clock, receiver, Resolver(PUBLIC), delivery_id)

    tried = uow.webhooks.get_delivery(delivery_id)
    assert tried is not None and tried.status is status and tried.attempts == 1
    assert tried.last_error


def test_a_host_that_now_resolves_inside_is_refused_without_a_request(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    _, delivery_id = subscribed_delivery(uow, clock)
    receiver = Receiver(200)
    clock.advance(hours=1)

    with pytest.raises(PermanentFailure):
        deliver(uow, clock, receiver, Resolver(PRIVATE), delivery_id)

    assert receiver.sent == []
    refused = uow.webhooks.get_delivery(delivery_id)
    assert refused is not None and refused.status is DeliveryStatus.REFUSED
    assert refused.last_attempt_at == clock.now()


def test_a_paused_subscription_skips_its_deliveries(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    subscription_id, delivery_id = subscribed_delivery(uow, clock)
    webhooks.update_subscription(
        uow,
        ADMIN,
        clock.now(),
        subscription_id,
        {"active": False},
        outbound=webhooks.Outbound(Resolver(PUBLIC)),
    )
    receiver = Receiver(200)

    deliver(uow, clock, receiver, Resolver(PUBLIC), delivery_id)

    skipped = uow.webhooks.get_delivery(delivery_id)
    assert receiver.sent == [] and skipped is not None
    assert skipped.status is DeliveryStatus.SKIPPED and skipped.attempts == 0


def test_what_a_command_wrote_is_undone_when_it_does_not_commit(
    uow: FakeUnitOfWork, clock: ManualClock
) -> None:
    subscription_id = subscribe(uow, clock).subscription.id
    assert subscription_id is not None
    with uow:
        pending_delivery(uow, clock, subscription_id)
    assert webhooks.list_deliveries(uow, ADMIN, subscription_id, 10, None) == []
