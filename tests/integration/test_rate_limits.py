"""Rate limits on every API: REST, tools over HTTP, MCP tool calls and the mail webhook.

Each test's limits are per hour or per day, so that no test depends on how fast it runs.
"""

from __future__ import annotations

import re
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container, bootstrap, start_rate_limiter
from caredesk.cli.main import app as cli_app
from caredesk.cli.mcp import ToolSession
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.mail import INBOUND_SCOPE, MailDirection
from caredesk.domain.rates import Rate
from caredesk.services.access import auth
from caredesk.services.channels.tools import build_registry
from caredesk.web.app import create_app
from tests.conftest import ManualClock
from tests.integration.test_api_errors import problem, row_counts

Headers = dict[str, str]
RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


@contextmanager
def limited(container: Container, clock: ManualClock, **limits: Any) -> Iterator[Container]:
    """A second container on the same database, with the rate limits on and these settings."""
    built = bootstrap(
        container.settings.model_copy(update={"rate_limits": True, **limits}),
        clock=clock,
        hasher=container.hasher,
    )
    try:
        yield built
    finally:
        built.close()


def client_of(container: Container, address: str = "testclient") -> TestClient:
    return TestClient(create_app(container=container), client=(address, 50000))


def token(container: Container, role: Role = Role.AGENT, **fields: Any) -> Headers:
    issued = auth.create_token(
        container.uow(), SYSTEM, container.clock.now(), name="t", role=role, **fields
    )
    return {"Authorization": f"Bearer {issued.secret}"}


def test_the_rest_api_counts_each_client_address_and_says_so_in_headers(
    container: Container, clock: ManualClock
) -> None:
    headers = token(container)
    with limited(container, clock, rate_limit_per_client="3/hour") as desk, client_of(desk) as c:
        answers = [c.get("/api/v1/me", headers=headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["ratelimit-limit"] for a in answers] == ["3", "3", "3"]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
        assert all(0 < int(a.headers["ratelimit-reset"]) <= 3600 for a in answers)
        before = row_counts(container)
        refused = c.post("/api/v1/teams", json={"name": "Night shift"}, headers=headers)
        body = problem(refused, 429, "rate_limited")
        assert body["details"]["limit"] == "3/hour"
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert refused.headers["ratelimit-remaining"] == "0"
        assert row_counts(container) == before
        # Pages and the health check are not the API: no limit, no headers.
        health = c.get("/healthz")
        assert health.status_code == 200
        assert not set(RATE_HEADERS) & set(health.headers)
        with client_of(desk, "203.0.113.9") as other:
            assert other.get("/api/v1/me", headers=headers).status_code == 200


def test_the_zendesk_api_counts_the_same_addresses_and_refuses_in_zendesks_shape(
    container: Container, clock: ManualClock
) -> None:
    headers = token(container)
    with limited(container, clock, rate_limit_per_client="2/hour") as desk, client_of(desk) as c:
        assert c.get("/api/v1/me", headers=headers).status_code == 200
        assert c.get("/api/v2/groups.json", headers=headers).status_code == 200
        refused = c.get("/api/v2/groups.json", headers=headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/json"
        body = refused.json()
        assert body["error"] == "TooManyRequests"
        assert "2/hour" in body["description"]
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert refused.headers["ratelimit-remaining"] == "0"
        # /api/v1 past the same count still answers in its own shape.
        problem(c.get("/api/v1/me", headers=headers), 429, "rate_limited")


def test_counting_in_the_process_starts_no_thread(
    container: Container, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every API request is counted twice: counting must not start a thread (a timer thread per
    hit after any idle moment is what counting in memory used to cost)."""
    started: list[str] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread.name)
        real_start(thread)

    headers = token(container)
    with limited(container, clock, rate_limit_per_client="100/hour") as desk:
        monkeypatch.setattr(threading.Thread, "start", start)
        limiter = start_rate_limiter(desk)
        assert limiter is not None and not limiter.remote
        for _ in range(3):
            verdict = limiter.hit(Rate.parse("100/hour"), "client:203.0.113.7")
            assert verdict is not None and verdict.allowed
        assert started == []
        monkeypatch.setattr(threading.Thread, "start", real_start)
        with client_of(desk) as c:
            answers = [c.get("/api/v1/me", headers=headers) for _ in range(3)]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["99", "98", "97"]


def test_each_token_has_its_limit_and_a_token_may_have_a_lower_one_of_its_own(
    container: Container, clock: ManualClock
) -> None:
    plain = token(container)
    ai_agent = token(container, rate_limit="2/hour")
    with limited(container, clock, rate_limit_per_token="4/hour") as desk, client_of(desk) as c:
        assert [c.get("/api/v1/me", headers=ai_agent).status_code for _ in range(2)] == [200] * 2
        refused = c.get("/api/v1/me", headers=ai_agent)
        assert problem(refused, 429, "rate_limited")["details"]["limit"] == "2/hour"
        assert refused.headers["ratelimit-limit"] == "2"
        assert int(refused.headers["retry-after"]) > 0
        assert [c.get("/api/v1/me", headers=plain).status_code for _ in range(4)] == [200] * 4
        problem(c.get("/api/v1/me", headers=plain), 429, "rate_limited")


def test_tool_calls_over_http_are_limited_per_token(
    container: Container, clock: ManualClock
) -> None:
    scoped = token(container, tools=["find_user_id_by_email"], rate_limit="1/day")
    call = {"arguments": {"email": "nobody@example.com"}}
    with limited(container, clock) as desk, client_of(desk) as c:
        first = c.post("/api/v1/tools/find_user_id_by_email", json=call, headers=scoped)
        assert first.status_code == 200, first.text
        assert first.headers["ratelimit-remaining"] == "0"
        second = c.post("/api/v1/tools/find_user_id_by_email", json=call, headers=scoped)
        problem(second, 429, "rate_limited")


def test_mcp_tool_calls_are_limited_per_token(container: Container, clock: ManualClock) -> None:
    secret = auth.create_token(
        container.uow(), SYSTEM, clock.now(), name="mcp", role=Role.AGENT, rate_limit="2/day"
    ).secret
    with limited(container, clock) as desk:
        session = ToolSession(desk, secret, build_registry())
        answers = [
            session.call("find_user_id_by_email", {"email": "nobody@example.com"}) for _ in range(3)
        ]
    assert [a["status"] for a in answers] == ["refused", "refused", "error"]
    assert answers[2]["code"] == "rate_limited"
    assert answers[2]["retry_after"] > 0


def raw_mail(n: int, sender: str = "maya@example.net") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@caredesk.example\r\nSubject: Help {n}\r\n"
        f"Message-ID: <m{n}-{uuid.uuid4().hex}@example.net>\r\n\r\nMy order {n}.\r\n"
    ).encode()


def stored_mail(container: Container) -> int:
    with container.uow() as uow:
        return len(uow.mail.find(direction=MailDirection.IN, status=None, limit=100))


def test_the_mail_webhook_defers_over_the_limit_and_loses_nothing(
    container: Container, clock: ManualClock
) -> None:
    relay = token(container, tools=[INBOUND_SCOPE])
    headers = {**relay, "Content-Type": "message/rfc822"}
    with limited(container, clock, rate_limit_per_client="2/hour") as desk, client_of(desk) as c:
        for n in range(2):
            assert c.post("/api/v1/inbound/email", content=raw_mail(n), headers=headers).is_success
        late = raw_mail(2)
        refused = c.post("/api/v1/inbound/email", content=late, headers=headers)
        problem(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) > 0
    assert stored_mail(container) == 2
    # The relay posts it again once the window has passed (here: a fresh process).
    with limited(container, clock, rate_limit_per_client="2/hour") as desk, client_of(desk) as c:
        again = c.post("/api/v1/inbound/email", content=late, headers=headers)
        assert again.status_code == 202, again.text
    assert stored_mail(container) == 3


def test_a_sender_over_its_hourly_limit_is_told_when_to_post_again(
    container: Container, client: TestClient, clock: ManualClock
) -> None:
    relay = token(container, tools=[INBOUND_SCOPE])
    headers = {**relay, "Content-Type": "message/rfc822"}
    limit = container.settings.mail_rate_limit_per_hour
    for n in range(limit):
        client.post("/api/v1/inbound/email", content=raw_mail(n), headers=headers)
    late = raw_mail(limit)
    refused = client.post("/api/v1/inbound/email", content=late, headers=headers)
    problem(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) == 3600 // limit
    assert stored_mail(container) == limit
    clock.advance(hours=1, seconds=1)
    assert client.post("/api/v1/inbound/email", content=late, headers=headers).status_code == 202
    assert stored_mail(container) == limit + 1


def test_a_tokens_own_limit_is_set_at_creation_and_checked(
    client: TestClient, container: Container, admin: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = client.post(
        "/api/v1/tokens",
        json={"name": "assistant", "role": "agent", "rate_limit": "60/minute"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["rate_limit"] == "60/minute"
    before = row_counts(container)
    for bad in ("fast", "0/minute", "60/fortnight", "60"):
        refused = client.post(
            "/api/v1/tokens", json={"name": "x", "role": "agent", "rate_limit": bad}, headers=admin
        )
        problem(refused, 422, "validation_error")
    assert row_counts(container) == before

    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    runner = CliRunner()
    made = runner.invoke(cli_app, ["tokens", "create", "--role", "agent", "--rate-limit", "5/hour"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    mine = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
    listed = {t["id"]: t for t in client.get("/api/v1/tokens", headers=admin).json()}
    assert listed[mine["token_id"]]["rate_limit"] == "5/hour"
    wrong = runner.invoke(cli_app, ["tokens", "create", "--role", "agent", "--rate-limit", "lots"])
    assert wrong.exit_code == 1
    assert "rate" in wrong.output


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_api_processes_share_their_counts_through_redis(
    container: Container, clock: ManualClock
) -> None:
    if not redis_answers():
        pytest.skip("no Redis answers on 127.0.0.1:6379")
    headers = token(container)
    # A client address of this test's own, so counts left in Redis by other runs do not meet it.
    address = f"redis-test-{uuid.uuid4().hex}"
    shared: dict[str, Any] = {
        "redis_url": "redis://127.0.0.1:6379/0",
        "rate_limit_per_client": "3/hour",
    }
    with (
        limited(container, clock, **shared) as one,
        limited(container, clock, **shared) as two,
        client_of(one, address) as first,
        client_of(two, address) as second,
    ):
        assert first.get("/api/v1/me", headers=headers).status_code == 200
        assert second.get("/api/v1/me", headers=headers).status_code == 200
        assert first.get("/api/v1/me", headers=headers).status_code == 200
        problem(second.get("/api/v1/me", headers=headers), 429, "rate_limited")


def test_a_redis_that_does_not_answer_leaves_the_api_serving(
    container: Container, clock: ManualClock
) -> None:
    headers = token(container)
    # Nothing listens on port 1: the limiter lets requests through (and logs why).
    with (
        limited(container, clock, redis_url="redis://127.0.0.1:1/0") as desk,
        client_of(desk) as c,
    ):
        response = c.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert not set(RATE_HEADERS) & set(response.headers)


def test_the_console_gives_a_token_its_own_rate(
    client: TestClient, container: Container, admin: Headers
) -> None:
    auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        container.clock.now(),
        email="root@example.com",
        name="Root",
        role=Role.ADMIN,
        password="console-password",
    )
    with TestClient(create_app(container=container), follow_redirects=False) as console:
        form = console.get("/login")
        login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert login_csrf is not None
        signed_in = console.post(
            "/login",
            data={
                "email": "root@example.com",
                "password": "console-password",
                "login_csrf": login_csrf.group(1),
            },
        )
        assert signed_in.status_code == 303
        page = console.get("/admin/tokens")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        fields = {"csrf_token": csrf.group(1), "name": "assistant", "role": "agent"}
        before = row_counts(container)
        wrong = console.post("/admin/tokens", data={**fields, "rate_limit": "lots"})
        assert wrong.status_code == 422
        assert "no rate" in wrong.text
        assert row_counts(container) == before
        made = console.post("/admin/tokens", data={**fields, "rate_limit": "30/minute"})
        assert made.status_code == 200, made.text
        assert "30/minute" in made.text
    listed = client.get("/api/v1/tokens", headers=admin).json()
    assert [t["rate_limit"] for t in listed if t["name"] == "assistant"] == ["30/minute"]
