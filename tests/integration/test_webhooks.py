"""Webhooks out to a real HTTP receiver on 127.0.0.1: signed, retried, logged.

Loopback is no place for webhooks (docs/security.md, "Outbound requests"): these tests
allow it as an admin would, with CAREDESK_WEBHOOK_ALLOWED_NETWORKS."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import timedelta
from ipaddress import IPv4Network
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.adapters.webhook_http import HttpWebhookSender
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.events import Changed
from caredesk.domain.webhooks import verify
from caredesk.services.channels.webhooks import register_webhooks
from caredesk.services.core.jobs import HandlerRegistry, Worker, WorkerOptions
from caredesk.settings import Settings
from tests.conftest import ManualClock
from tests.integration.conftest import Receiver

Headers = dict[str, str]
API = "/api/v1"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowed_networks": [IPv4Network("127.0.0.0/8")]})


def _worker(container: Container) -> Worker:
    registry = HandlerRegistry()
    register_webhooks(registry, HttpWebhookSender(timeout_seconds=5), container.outbound)
    options = WorkerOptions(
        max_attempts=3, backoff_base=timedelta(seconds=10), backoff_cap=timedelta(minutes=5)
    )
    return Worker(container.job_context(), registry, name="test", options=options)


def _subscribe(client: TestClient, admin: Headers, url: str, events: list[str]) -> dict[str, Any]:
    response = client.post(f"{API}/webhooks", json={"url": url, "events": events}, headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


def _deliveries(client: TestClient, admin: Headers, hook_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{API}/webhooks/{hook_id}/deliveries", headers=admin)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def test_a_case_event_is_delivered_signed(
    client: TestClient,
    admin: Headers,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
    clock: ManualClock,
) -> None:
    hook = _subscribe(client, admin, receiver.url, ["case.created"])
    case = new_case(body="My order never came")
    assert receiver.received == []  # nothing leaves before the worker runs
    assert _worker(container).run_once() == 1
    [(headers, body)] = receiver.received
    timestamp = int(headers["X-Caredesk-Timestamp"])
    assert timestamp == int(clock.now().timestamp())
    assert verify(hook["secret"], timestamp, body, headers["X-Caredesk-Signature"])
    assert not verify("whsec_wrong", timestamp, body, headers["X-Caredesk-Signature"])
    payload = json.loads(body)
    assert payload["event"] == "case.created"
    assert payload["case_id"] == case["id"]
    assert payload["after"]["subject"] == case["subject"]
    assert headers["X-Caredesk-Delivery"] == str(payload["id"])
    [logged] = _deliveries(client, admin, hook["id"])
    assert (logged["status"], logged["attempts"], logged["response_status"]) == (
        "delivered",
        1,
        200,
    )
    assert _worker(container).run_once() == 0  # delivered once, not again


def test_a_failing_receiver_is_retried_with_backoff(
    client: TestClient,
    admin: Headers,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
    clock: ManualClock,
) -> None:
    hook = _subscribe(client, admin, receiver.url, ["case.created"])
    receiver.statuses = [503, 200]
    new_case(body="Hello")
    worker = _worker(container)
    worker.run_once()
    [logged] = _deliveries(client, admin, hook["id"])
    assert (logged["status"], logged["attempts"], logged["response_status"]) == ("failed", 1, 503)
    assert worker.run_once() == 0  # waiting out its backoff
    clock.advance(seconds=10)
    worker.run_once()
    [logged] = _deliveries(client, admin, hook["id"])
    assert (logged["status"], logged["attempts"], logged["response_status"]) == (
        "delivered",
        2,
        200,
    )
    first, second = receiver.received
    assert json.loads(first[1])["id"] == json.loads(second[1])["id"]


def test_a_refusal_is_a_dead_letter_at_once(
    client: TestClient,
    admin: Headers,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
) -> None:
    hook = _subscribe(client, admin, receiver.url, ["case.created"])
    receiver.statuses = [410]
    new_case()
    _worker(container).run_once()
    [logged] = _deliveries(client, admin, hook["id"])
    assert (logged["status"], logged["last_error"]) == ("dead", "the receiver answered 410")
    dead = client.get(f"{API}/jobs", params={"state": "dead"}, headers=admin).json()["items"]
    assert [j["kind"] for j in dead] == ["webhook.deliver"]
    # The receiver is fixed; an admin retries the dead letter and it is delivered.
    assert client.post(f"{API}/jobs/{dead[0]['id']}/retry", headers=admin).status_code == 200
    _worker(container).run_once()
    [logged] = _deliveries(client, admin, hook["id"])
    assert (logged["status"], logged["attempts"], logged["response_status"]) == (
        "delivered",
        2,
        200,
    )


def test_an_unreachable_receiver_is_logged_and_retried(
    client: TestClient,
    admin: Headers,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    hook = _subscribe(client, admin, f"http://127.0.0.1:{closed_port}/", ["case.created"])
    new_case()
    _worker(container).run_once()
    [logged] = _deliveries(client, admin, hook["id"])
    assert logged["status"] == "failed"
    assert logged["response_status"] is None
    assert logged["last_error"]
    queued = client.get(f"{API}/jobs", params={"state": "queued"}, headers=admin).json()
    assert [j["kind"] for j in queued["items"]] == ["webhook.deliver"]


def test_only_matching_committed_case_and_grant_events_are_delivered(
    client: TestClient,
    admin: Headers,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
) -> None:
    grants_hook = _subscribe(client, admin, receiver.url, ["grant.*"])
    everything = _subscribe(client, admin, receiver.url, ["*"])
    new_case()
    with container.uow() as uow:  # audited, then rolled back: nobody hears of it
        uow.publish(
            Changed(
                actor=SYSTEM,
                at=container.clock.now(),
                action="case.updated",
                entity_type="case",
                entity_id=1,
                case_id=1,
            )
        )
    # Events about neither a case nor a grant (here: a new team) are not sent at all.
    assert client.post(f"{API}/teams", json={"name": "Returns"}, headers=admin).status_code == 201
    _worker(container).run_once()
    # The new case and its triage; not the rolled-back update, not the team.
    assert receiver.events() == ["case.created", "case.triaged"]
    assert _deliveries(client, admin, grants_hook["id"]) == []
    assert len(_deliveries(client, admin, everything["id"])) == 2


def test_paused_subscriptions_get_nothing_and_bad_ones_are_refused(
    client: TestClient,
    admin: Headers,
    agent: Headers,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
) -> None:
    hook = _subscribe(client, admin, receiver.url, ["case.created"])
    paused = client.patch(f"{API}/webhooks/{hook['id']}", json={"active": False}, headers=admin)
    assert paused.status_code == 200 and paused.json()["active"] is False
    new_case()
    _worker(container).run_once()
    assert receiver.received == []
    assert "secret" not in client.get(f"{API}/webhooks/{hook['id']}", headers=admin).json()
    refused = client.post(
        f"{API}/webhooks", json={"url": receiver.url, "events": ["case.*"]}, headers=agent
    )
    assert refused.status_code == 403
    for bad in (
        {"url": "ftp://example.com/", "events": ["case.*"]},
        {"url": "https://user:pw@example.com/", "events": ["case.*"]},
        {"url": receiver.url, "events": []},
        {"url": receiver.url, "events": ["case.**"]},
    ):
        response = client.post(f"{API}/webhooks", json=bad, headers=admin)
        assert response.status_code == 422, bad
    assert len(client.get(f"{API}/webhooks", headers=admin).json()) == 1
    deleted = client.delete(f"{API}/webhooks/{hook['id']}", headers=admin)
    assert deleted.status_code == 204
    assert client.get(f"{API}/webhooks/{hook['id']}", headers=admin).status_code == 404


def test_the_worker_job_runs_only_once_even_if_queued_twice(
    client: TestClient,
    admin: Headers,
    receiver: Receiver,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
) -> None:
    hook = _subscribe(client, admin, receiver.url, ["case.created"])
    new_case()
    [logged] = _deliveries(client, admin, hook["id"])
    worker = _worker(container)
    worker.run_once()
    # An operator retries the finished job: the delivery is already done and is not re-sent.
    done = client.get(f"{API}/jobs", params={"state": "done"}, headers=admin).json()["items"]
    assert client.post(f"{API}/jobs/{done[0]['id']}/retry", headers=admin).status_code == 200
    worker.run_once()
    assert len(receiver.received) == 1
    assert _deliveries(client, admin, hook["id"])[0]["id"] == logged["id"]
