"""Webhooks reach public addresses only: the URL's host is resolved and checked when it is
subscribed and again at every delivery, and the request goes to the address that was checked.

The name server is the test's own (`MapResolver`); the numeric forms go through the real
resolver, which needs no name server for them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from ipaddress import IPv4Network
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.adapters.webhook_http import HttpWebhookSender
from caredesk.bootstrap import Container
from caredesk.services.channels.webhooks import Outbound, register_webhooks
from caredesk.services.core.jobs import HandlerRegistry, Worker, WorkerOptions
from caredesk.settings import Settings
from tests.integration.conftest import Headers, Receiver
from tests.resolvers import MapResolver

API = "/api/v1"
# Which addresses a webhook may reach is decided on the URL and its resolved addresses, before
# and apart from any statement.
pytestmark = pytest.mark.one_backend
# Never connected to: only the test's name server hands it out, to pass the check.
PUBLIC = "93.184.215.14"
INSIDE_URLS = [
    "http://127.0.0.1:8080/hooks",
    "http://[::1]/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://017700000001/",
    "http://127.1/",
    "http://0/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[fe80::1]/",
    "http://localhost:9200/",
    "http://10.0.0.5/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "https://0xa9fea9fe/",
]


def _worker(container: Container) -> Worker:
    registry = HandlerRegistry()
    register_webhooks(registry, HttpWebhookSender(timeout_seconds=5), container.outbound)
    options = WorkerOptions(
        max_attempts=3, backoff_base=timedelta(seconds=10), backoff_cap=timedelta(minutes=5)
    )
    return Worker(container.job_context(), registry, name="test", options=options)


def _deliveries(client: TestClient, admin: Headers, hook_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        f"{API}/webhooks/{hook_id}/deliveries", headers=admin
    ).json()
    return found


def test_an_inside_url_is_refused_in_every_form(client: TestClient, admin: Headers) -> None:
    for url in INSIDE_URLS:
        refused = client.post(
            f"{API}/webhooks", json={"url": url, "events": ["case.*"]}, headers=admin
        )
        assert refused.status_code == 422, (url, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["code"] == "url_not_allowed", url
        assert "public addresses only" in problem["detail"]
        assert problem["details"]["field"] == "url"
    assert client.get(f"{API}/webhooks", headers=admin).json() == []  # nothing was stored


def test_a_host_that_does_not_resolve_is_refused(
    client: TestClient, admin: Headers, container: Container
) -> None:
    container.outbound = Outbound(MapResolver())
    refused = client.post(
        f"{API}/webhooks",
        json={"url": "https://hooks.example.com/desk", "events": ["case.*"]},
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "url_not_allowed"
    assert "does not resolve" in refused.json()["detail"]


def test_changing_the_url_to_an_inside_one_is_refused_and_changes_nothing(
    client: TestClient, admin: Headers, container: Container
) -> None:
    resolver = MapResolver({"hooks.example.com": [PUBLIC], "intranet.example.com": ["10.1.1.1"]})
    container.outbound = Outbound(resolver)
    created = client.post(
        f"{API}/webhooks",
        json={"url": "https://hooks.example.com/desk", "events": ["case.*"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    hook_id = created.json()["id"]
    refused = client.patch(
        f"{API}/webhooks/{hook_id}",
        json={"url": "https://intranet.example.com/"},
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(
        "intranet.example.com resolves to 10.1.1.1, and 10.1.1.1 is a private address"
    )
    kept = client.get(f"{API}/webhooks/{hook_id}", headers=admin).json()
    assert kept["url"] == "https://hooks.example.com/desk"


def test_a_name_pointed_inside_after_subscription_is_refused_at_delivery(
    client: TestClient,
    admin: Headers,
    container: Container,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
) -> None:
    resolver = MapResolver({"hooks.example.com": [PUBLIC]})
    container.outbound = Outbound(resolver)
    port = receiver.server.server_address[1]
    hook = client.post(
        f"{API}/webhooks",
        json={"url": f"http://hooks.example.com:{port}/hooks", "events": ["case.created"]},
        headers=admin,
    ).json()
    # The name now points at the desk's own host, where something listens.
    resolver.point("hooks.example.com", "127.0.0.1")
    new_case()
    assert _worker(container).run_once() == 1
    assert receiver.received == []  # not even a connection
    [logged] = _deliveries(client, admin, hook["id"])
    assert logged["status"] == "refused"
    assert logged["response_status"] is None
    assert logged["attempts"] == 1
    assert logged["last_error"].startswith(
        "hooks.example.com resolves to 127.0.0.1, and 127.0.0.1 is a loopback address"
    )
    dead = client.get(f"{API}/jobs", params={"state": "dead"}, headers=admin).json()["items"]
    assert [j["kind"] for j in dead] == ["webhook.deliver"]
    assert resolver.asked == ["hooks.example.com", "hooks.example.com"]  # subscribe, deliver


def test_an_allowed_network_is_reached_at_the_checked_address_under_the_urls_name(
    client: TestClient,
    admin: Headers,
    container: Container,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
) -> None:
    # The real name servers know nothing of hooks.example.com: the request can only have
    # reached the receiver through the address the check was made on.
    resolver = MapResolver({"hooks.example.com": ["127.0.0.1"]})
    container.outbound = Outbound(resolver, (IPv4Network("127.0.0.0/8"),))
    port = receiver.server.server_address[1]
    hook = client.post(
        f"{API}/webhooks",
        json={"url": f"http://hooks.example.com:{port}/hooks?x=1", "events": ["case.created"]},
        headers=admin,
    )
    assert hook.status_code == 201, hook.text
    new_case()
    _worker(container).run_once()
    [(headers, _)] = receiver.received
    assert headers["Host"] == f"hooks.example.com:{port}"
    [logged] = _deliveries(client, admin, hook.json()["id"])
    assert (logged["status"], logged["response_status"]) == ("delivered", 200)


def test_a_redirect_is_not_followed(
    client: TestClient,
    admin: Headers,
    container: Container,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
) -> None:
    container.outbound = Outbound(container.outbound.resolver, (IPv4Network("127.0.0.0/8"),))
    hook = client.post(
        f"{API}/webhooks", json={"url": receiver.url, "events": ["case.created"]}, headers=admin
    ).json()
    receiver.statuses = [302]
    receiver.redirect_to = receiver.url + "/elsewhere"
    new_case()
    _worker(container).run_once()
    assert len(receiver.received) == 1
    [logged] = _deliveries(client, admin, hook["id"])
    assert (logged["status"], logged["last_error"]) == ("failed", "the receiver answered 302")


def test_the_allowed_networks_setting_reaches_the_desk(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setenv("CAREDESK_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/8", "fd00::/8"]')
    read = Settings(database_url=settings.database_url)
    assert [str(n) for n in read.webhook_allowed_networks] == ["127.0.0.0/8", "fd00::/8"]
    monkeypatch.setenv("CAREDESK_WEBHOOK_ALLOWED_NETWORKS", '["localhost"]')
    with pytest.raises(ValueError, match="webhook_allowed_networks"):
        Settings(database_url=settings.database_url)
