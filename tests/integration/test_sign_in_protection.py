"""Failed sign-ins and unknown tokens: growing delays, locks, the audit trail, unlocking.

The delays are read off the test's clock (`ManualClock`): a test waits by moving it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container, bootstrap
from caredesk.cli.main import app as cli_app
from caredesk.domain.agents import SYSTEM, Agent, Role
from caredesk.domain.audit import AuditEvent
from caredesk.domain.customers import Customer
from caredesk.domain.portal import email_key
from caredesk.domain.throttling import ThrottleKind, throttle_key
from caredesk.services.access import auth
from caredesk.services.channels.portal import MemoryOutbox
from caredesk.settings import Settings
from caredesk.web.app import create_app
from tests.conftest import ManualClock
from tests.integration.conftest import Headers
from tests.integration.test_api_errors import problem, row_counts

PASSWORD = "the-right-password"
KNOWN = "kim@example.com"
UNKNOWN = "nobody@example.com"
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def kim(container: Container) -> Agent:
    return auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        container.clock.now(),
        email=KNOWN,
        name="Kim",
        role=Role.AGENT,
        password=PASSWORD,
    )


def log_in(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def wrong_until_refused(
    client: TestClient, clock: ManualClock, email: str, attempts: int
) -> list[tuple[int, str]]:
    """Make `attempts` wrong sign-ins, each waiting out the delay the last one asked for;
    return the (status, code) of every answer, the waits' 429s included."""
    answers: list[tuple[int, str]] = []
    made = 0
    while made < attempts:
        response = log_in(client, email, "not-the-password")
        code = response.json()["code"]
        answers.append((response.status_code, code))
        if code == "too_many_attempts":
            clock.advance(seconds=int(response.headers["retry-after"]))
            continue
        made += 1
    return answers


def trail(container: Container, entity_type: str, entity_id: object) -> list[AuditEvent]:
    with container.uow() as uow:
        return uow.audit.for_entity(entity_type, str(entity_id))


def test_twenty_five_wrong_passwords_lock_the_account_against_the_right_one(
    client: TestClient, container: Container, clock: ManualClock, kim: Agent
) -> None:
    wrong_until_refused(client, clock, KNOWN, 25)
    refused = problem(log_in(client, KNOWN, PASSWORD), 429, "account_locked")
    assert refused["details"]["retry_after"] > 0
    response = log_in(client, KNOWN, PASSWORD)
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert "caredesk_session" not in response.cookies


def test_every_failure_and_the_lock_are_in_the_agents_audit_trail(
    client: TestClient, container: Container, clock: ManualClock, kim: Agent, admin: Headers
) -> None:
    wrong_until_refused(client, clock, KNOWN, 12)
    actions = [e.action for e in trail(container, "agent", kim.id)]
    # Attempts refused during a delay or the lock check no password: they are no failures,
    # and a trail that grew with every retry of a locked-out guesser would bury the rest.
    assert actions == ["agent.created"] + ["sign_in.failed"] * 10 + ["sign_in.locked"]
    failure = next(e for e in trail(container, "agent", kim.id) if e.action == "sign_in.failed")
    assert failure.after is not None
    assert failure.after["client"] == "testclient"
    listed = client.get(f"/api/v1/agents/{kim.id}/audit", headers=admin)
    assert listed.status_code == 200, listed.text
    assert [e["action"] for e in listed.json()] == actions


def test_the_delays_grow_after_the_free_failures(
    client: TestClient, clock: ManualClock, kim: Agent
) -> None:
    for _ in range(3):
        problem(log_in(client, KNOWN, "wrong-password"), 401, "invalid_credentials")
    waits = []
    for _ in range(4):
        problem(log_in(client, KNOWN, "wrong-password"), 401, "invalid_credentials")
        early = problem(log_in(client, KNOWN, PASSWORD), 429, "too_many_attempts")
        waits.append(early["details"]["retry_after"])
        clock.advance(seconds=waits[-1])
    assert waits == [1, 2, 4, 8]
    assert log_in(client, KNOWN, PASSWORD).status_code == 200


def test_unknown_and_known_accounts_get_the_same_answers_and_the_same_writes(
    client: TestClient, container: Container, clock: ManualClock, kim: Agent
) -> None:
    def answers_for(email: str) -> tuple[list[tuple[int, str]], int]:
        before = row_counts(container)["audit_events"]
        answers = wrong_until_refused(client, clock, email, 12)
        answers.append((log_in(client, email, PASSWORD).status_code, "after the right password"))
        return answers, row_counts(container)["audit_events"] - before

    known = answers_for(KNOWN)
    # The client address has its own, larger allowance; start it afresh for the comparison.
    with container.uow() as uow:
        uow.throttles.delete(throttle_key(ThrottleKind.CLIENT, "testclient"))
        uow.commit()
    unknown = answers_for(UNKNOWN)
    assert known == unknown
    assert (429, "account_locked") in known[0]


def test_the_lock_holds_in_another_process_and_runs_out(
    client: TestClient, container: Container, clock: ManualClock, kim: Agent
) -> None:
    wrong_until_refused(client, clock, KNOWN, 10)
    other = bootstrap(container.settings, clock=clock, hasher=container.hasher)
    try:
        with TestClient(create_app(container=other)) as second:
            problem(log_in(second, KNOWN, PASSWORD), 429, "account_locked")
            clock.advance(minutes=15)
            assert log_in(second, KNOWN, PASSWORD).status_code == 200
    finally:
        other.close()


def test_a_sign_in_resets_the_accounts_count(
    client: TestClient, container: Container, clock: ManualClock, kim: Agent
) -> None:
    for _ in range(3):
        log_in(client, KNOWN, "wrong-password")
    assert log_in(client, KNOWN, PASSWORD).status_code == 200
    problem(log_in(client, KNOWN, "wrong-password"), 401, "invalid_credentials")
    assert log_in(client, KNOWN, PASSWORD).status_code == 200


@pytest.fixture
def strict_client(container: Container, clock: ManualClock) -> Iterator[TestClient]:
    """An app whose client addresses get two free failures and are locked at the fourth."""
    strict = bootstrap(
        container.settings.model_copy(
            update={"sign_in_client_free_failures": 2, "sign_in_client_lock_failures": 4}
        ),
        clock=clock,
        hasher=container.hasher,
    )
    try:
        with TestClient(create_app(container=strict)) as strict_test_client:
            yield strict_test_client
    finally:
        strict.close()


def test_one_client_address_is_throttled_across_accounts(
    strict_client: TestClient, container: Container, clock: ManualClock, kim: Agent
) -> None:
    for n in range(4):
        problem(
            log_in(strict_client, f"guess{n}@example.com", "x" * 12), 401, "invalid_credentials"
        )
        clock.advance(minutes=1)
    # The account is fine, its password right: the address it comes from is locked.
    problem(log_in(strict_client, KNOWN, PASSWORD), 429, "too_many_attempts")
    actions = [e.action for e in trail(container, "client", "testclient")]
    assert actions == ["client.locked"]
    with TestClient(create_app(container=container), client=("203.0.113.7", 4000)) as elsewhere:
        assert log_in(elsewhere, KNOWN, PASSWORD).status_code == 200


def test_unknown_tokens_from_one_address_are_throttled(
    strict_client: TestClient, container: Container, clock: ManualClock, admin: Headers
) -> None:
    for n in range(2):
        bad = {"Authorization": f"Bearer cdk_guess{n}"}
        problem(strict_client.get("/api/v1/me", headers=bad), 401, "token_invalid")
    third = strict_client.get("/api/v1/me", headers={"Authorization": "Bearer cdk_guess2"})
    problem(third, 401, "token_invalid")
    # The third failure asked for a pause: even a good token waits it out, so a lucky guess
    # cannot be told from a bad one while the address is throttled.
    early = strict_client.get("/api/v1/me", headers=admin)
    problem(early, 429, "too_many_attempts")
    assert int(early.headers["retry-after"]) >= 1
    clock.advance(seconds=int(early.headers["retry-after"]))
    assert strict_client.get("/api/v1/me", headers=admin).status_code == 200
    failures = [e for e in trail(container, "client", "testclient") if e.action == "token.failed"]
    assert len(failures) == 3


def test_a_revoked_token_counts_as_a_failure_under_its_own_id(
    client: TestClient, container: Container, token_for: Callable[[Role], Headers]
) -> None:
    headers = token_for(Role.AGENT)
    token_id = client.get("/api/v1/me", headers=headers).json()["token_id"]
    auth.revoke_token(container.uow(), SYSTEM, container.clock.now(), token_id)
    problem(client.get("/api/v1/me", headers=headers), 401, "token_revoked")
    failed = [e for e in trail(container, "token", token_id) if e.action == "token.failed"]
    assert len(failed) == 1
    assert failed[0].after is not None
    assert failed[0].after["code"] == "token_revoked"
    assert failed[0].after["client"] == "testclient"


# --- unlocking -------------------------------------------------------------------------------


def test_an_admin_unlocks_an_account_over_rest(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    kim: Agent,
    admin: Headers,
    agent: Headers,
) -> None:
    wrong_until_refused(client, clock, KNOWN, 10)
    before = row_counts(container)
    problem(client.post(f"/api/v1/agents/{kim.id}/unlock", headers=agent), 403, "forbidden")
    problem(client.post("/api/v1/agents/4242/unlock", headers=admin), 404, "not_found")
    assert row_counts(container) == before
    unlocked = client.post(f"/api/v1/agents/{kim.id}/unlock", headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["email"] == KNOWN
    assert log_in(client, KNOWN, PASSWORD).status_code == 200
    line = next(e for e in trail(container, "agent", kim.id) if e.action == "sign_in.unlocked")
    assert line.actor.startswith("token:")
    assert line.before is not None
    assert line.before["failures"] == 10


def console_sign_in(client: TestClient, email: str, password: str) -> Any:
    form = client.get("/login")
    token = LOGIN_CSRF.search(form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"email": email, "password": password, "login_csrf": token.group(1), "next": "/"},
    )


def test_the_console_explains_a_lock_and_an_admin_lifts_it_with_a_button(
    client: TestClient, container: Container, clock: ManualClock, kim: Agent
) -> None:
    auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        clock.now(),
        email="root@example.com",
        name="Root",
        role=Role.ADMIN,
        password=PASSWORD,
    )
    wrong_until_refused(client, clock, KNOWN, 10)
    with TestClient(create_app(container=container), follow_redirects=False) as console:
        page = console_sign_in(console, KNOWN, PASSWORD)
        assert page.status_code == 429
        assert page.headers["content-type"].startswith("text/html")
        assert "locked" in page.text
        assert int(page.headers["retry-after"]) > 0
        assert console_sign_in(console, "root@example.com", PASSWORD).status_code == 303
        agents = console.get("/admin/agents")
        assert f'action="/admin/agents/{kim.id}/unlock"' in agents.text
        token = CSRF.search(agents.text)
        assert token is not None
        done = console.post(f"/admin/agents/{kim.id}/unlock", data={"csrf_token": token.group(1)})
        assert done.status_code == 303
        assert f'action="/admin/agents/{kim.id}/unlock"' not in console.get("/admin/agents").text
    assert log_in(client, KNOWN, PASSWORD).status_code == 200
    actions = [e.action for e in trail(container, "agent", kim.id)]
    assert actions[-2:] == ["sign_in.unlocked", "agent.signed_in"]


def test_the_command_line_unlocks_an_account(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    kim: Agent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong_until_refused(client, clock, KNOWN, 10)
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    runner = CliRunner()
    done = runner.invoke(cli_app, ["agents", "unlock", KNOWN])
    assert done.exit_code == 0, done.output
    assert "unlocked" in done.output
    assert log_in(client, KNOWN, PASSWORD).status_code == 200
    line = next(e for e in trail(container, "agent", kim.id) if e.action == "sign_in.unlocked")
    assert line.actor == "system"
    missing = runner.invoke(cli_app, ["agents", "unlock", "ghost@example.com"])
    assert missing.exit_code == 1


def test_settings_bound_the_throttle() -> None:
    with pytest.raises(ValueError, match="sign_in_lock_failures"):
        Settings(sign_in_lock_failures=0)
    with pytest.raises(ValueError, match="sign_in_free_failures"):
        Settings(sign_in_free_failures=-1)


# --- the portal's sign-in links ---------------------------------------------------------------


@pytest.fixture
def maya(container: Container) -> Customer:
    now = container.clock.now()
    customer = Customer(
        id="c-maya",
        first_name="Maya",
        last_name="Lin",
        emails=["maya@example.com"],
        created_at=now,
        updated_at=now,
    )
    with container.uow() as uow:
        uow.customers.add(customer)
        uow.commit()
    return customer


def portal_app(container: Container, outbox: MemoryOutbox) -> TestClient:
    app = create_app(container=container)
    app.state.portal_mailer = outbox
    return TestClient(app, follow_redirects=False)


def test_link_requests_over_the_limit_are_audited_and_answered_alike(
    container: Container, maya: Customer
) -> None:
    outbox = MemoryOutbox()
    with portal_app(container, outbox) as portal_client:
        pages = [
            portal_client.post("/portal/sign-in", data={"email": email}).text
            for email in ["maya@example.com"] * 7 + ["nobody@example.com"] * 7
        ]
    assert len({page.replace("nobody@", "maya@") for page in pages}) == 1
    assert len(outbox.sent) == 5
    for address in ("maya@example.com", "nobody@example.com"):
        throttled = trail(container, "portal_sign_in", email_key(address))
        assert [e.action for e in throttled] == ["portal.link_throttled"] * 2
        assert throttled[0].after == {"client": "testclient", "limit": "address"}


def follow_link(client: TestClient, path: str) -> Any:
    """Open a sign-in link and confirm it, as the customer does."""
    page = client.get(path)
    token = LOGIN_CSRF.search(page.text)
    assert token is not None
    return client.post(path, data={"login_csrf": token.group(1)}, follow_redirects=False)


def test_forged_sign_in_links_count_against_the_client_address(
    strict_client: TestClient, container: Container, clock: ManualClock, maya: Customer
) -> None:
    outbox = MemoryOutbox()
    with portal_app(container, outbox) as portal_client:
        portal_client.post("/portal/sign-in", data={"email": "maya@example.com"})
        mail = outbox.last_to("maya@example.com")
        assert mail is not None
        real = mail.link.removeprefix("http://testserver")
    for n in range(3):
        assert follow_link(strict_client, f"/portal/sign-in/forged-{n}").status_code == 401
    refused = follow_link(strict_client, real)
    assert refused.status_code == 429
    assert 'data-code="too_many_attempts"' in refused.text
    assert int(refused.headers["retry-after"]) >= 1
    clock.advance(seconds=int(refused.headers["retry-after"]))
    assert follow_link(strict_client, real).status_code == 303
    failed = [
        e for e in trail(container, "client", "testclient") if e.action == "portal.link_failed"
    ]
    assert len(failed) == 3
