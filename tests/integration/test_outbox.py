"""The development outbox and undelivered mail at /admin/outbox, on every backend.

A desk without an SMTP server keeps its mail; an admin opens it and follows its links (the
portal's sign-in link signs the customer in). Mail an SMTP server refused is listed with
its error and can be retried. Only admins see either.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container, mail_identity, mailer_for
from caredesk.domain.agents import SYSTEM
from caredesk.domain.customers import Customer
from caredesk.domain.jobs import JobState
from caredesk.services.channels import mail_out, outbox
from caredesk.services.channels.outbox import OutboxMailer
from caredesk.services.core.jobs import HandlerRegistry, JobContext, Worker
from caredesk.settings import Settings
from caredesk.web.app import create_app
from tests.integration.mail_peers import free_port
from tests.integration.test_console_pages import ADMIN, load_console_store, sign_in

AGENT = "alex@caredesk.example"
LEAD = "lena.lead@caredesk.example"
CUSTOMER = "maya@example.com"
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEPT = re.compile(rf'<td>{re.escape(CUSTOMER)}</td>\s*<td><a href="(/admin/outbox/\d+)"')
SIGN_IN_LINK = re.compile(r'<a href="http://testserver(/portal/sign-in/[A-Za-z0-9_\-]+)"')


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    """The shared test settings; a test that asks for `closed_smtp` has SMTP on a port where
    nobody listens, given up after two tries."""
    closed = "closed_smtp" in request.fixturenames
    smtp: dict[str, Any] = (
        {"smtp_host": "127.0.0.1", "smtp_port": free_port(), "job_max_attempts": 2}
        if closed
        else {}
    )
    return Settings(
        database_url=database_url,
        log_level="warning",
        embedded_worker=False,
        semantic_search=False,
        rate_limits=False,
        **smtp,
    )


@pytest.fixture
def store(container: Container) -> Container:
    load_console_store(container)
    now = container.clock.now()
    with container.uow() as uow:
        uow.customers.add(
            Customer(
                id="maya",
                first_name="Maya",
                last_name="Tester",
                emails=[CUSTOMER],
                created_at=now,
                updated_at=now,
            )
        )
        uow.commit()
    return container


@pytest.fixture
def run_jobs(store: Container) -> Iterator[Callable[[], int]]:
    """The worker's next round, with the mailer bootstrap chose for these settings."""
    registry = HandlerRegistry()
    mailer = mailer_for(store)
    mail_out.register_mail(registry, mailer, mail_identity(store.settings))
    ctx = JobContext(uow=store.uow, clock=store.clock)
    yield Worker(ctx, registry, name="test-worker", options=store.worker_options).run_once
    close: Any = getattr(mailer, "close", None)
    if close is not None:
        close()


def ask_for_link(client: TestClient) -> None:
    form = client.get("/portal/sign-in")
    token = LOGIN_CSRF.search(form.text)
    data = {"email": CUSTOMER} | ({"login_csrf": token.group(1)} if token else {})
    assert client.post("/portal/sign-in", data=data).status_code == 200


# --- the outbox -------------------------------------------------------------------------------


def test_without_an_smtp_server_a_development_desk_keeps_its_mail(store: Container) -> None:
    assert store.settings.outbound_transport == "outbox"
    assert isinstance(mailer_for(store), OutboxMailer)


def test_a_kept_sign_in_link_is_listed_opened_and_signs_the_customer_in(
    app_client: TestClient, store: Container, run_jobs: Callable[[], int]
) -> None:
    ask_for_link(app_client)
    assert run_jobs() >= 1  # the demo's stories queued mail of their own
    sign_in(app_client, ADMIN)

    listing = app_client.get("/admin/outbox")
    assert listing.status_code == 200
    assert 'href="/admin/outbox" aria-current="page"' in listing.text
    assert CUSTOMER in listing.text
    opened = KEPT.search(listing.text)
    assert opened is not None, listing.text

    page = app_client.get(opened.group(1))
    assert page.status_code == 200
    assert f"To</th><td>{CUSTOMER}" in page.text
    # The HTML part is drawn in a frame that runs no script and loads nothing.
    frame = re.search(r"<iframe sandbox srcdoc=\"([^\"]*)\"", page.text)
    assert frame is not None
    assert "default-src &#39;none&#39;" in frame.group(1) or "default-src 'none'" in html.unescape(
        frame.group(1)
    )
    link = SIGN_IN_LINK.search(page.text)
    assert link is not None, page.text
    assert link.group(1) in page.text.split("Text part", 1)[1]

    # Follow it as the customer would: the link's page, then Continue.
    app_client.cookies.clear()
    confirm = app_client.get(link.group(1))
    assert confirm.status_code == 200
    token = LOGIN_CSRF.search(confirm.text)
    assert token is not None
    done = app_client.post(link.group(1), data={"login_csrf": token.group(1)})
    assert done.status_code == 303
    home = app_client.get("/portal")
    assert home.status_code == 200
    assert "Maya" in home.text


def test_the_outbox_is_for_admins_only(
    app_client: TestClient, store: Container, run_jobs: Callable[[], int]
) -> None:
    ask_for_link(app_client)
    run_jobs()
    kept = [k for k in outbox.caught_mail(store.uow.read_only(), SYSTEM) if k.mail]
    kept = [k for k in kept if k.mail and CUSTOMER in k.mail.to]
    assert len(kept) == 1
    for email in (AGENT, LEAD):
        app_client.cookies.clear()
        sign_in(app_client, email)
        for path in ("/admin/outbox", f"/admin/outbox/{kept[0].caught.id}"):
            refused = app_client.get(path)
            assert refused.status_code == 403, (email, path)
            assert CUSTOMER not in refused.text
        assert 'href="/admin/outbox"' not in app_client.get("/admin/agents").text


def test_an_unknown_kept_mail_is_a_clear_404(app_client: TestClient) -> None:
    sign_in(app_client, ADMIN)
    missing = app_client.get("/admin/outbox/999999")
    assert missing.status_code == 404
    assert "Traceback" not in missing.text


# --- mail that did not leave ------------------------------------------------------------------


@pytest.fixture
def closed_smtp() -> None:
    """Asked for by name: the settings fixture then points SMTP at a closed port."""


def test_mail_an_smtp_server_refused_is_shown_with_its_error_and_can_be_retried(
    closed_smtp: None, app_client: TestClient, store: Container, run_jobs: Callable[[], int]
) -> None:
    assert store.settings.outbound_transport == "smtp"
    ask_for_link(app_client)
    run_jobs()
    sign_in(app_client, ADMIN)
    page = app_client.get("/admin/outbox")
    undelivered = page.text.split('id="undelivered"', 1)[1].split("</section>", 1)[0]
    assert CUSTOMER in undelivered
    assert "SMTP failed" in undelivered
    assert "next try" in undelivered

    # The last try gives up; the admin sends it again.
    store.clock.advance(hours=2)
    run_jobs()
    page = app_client.get("/admin/outbox")
    retry = re.search(r'action="(/admin/outbox/jobs/(\d+)/retry)"', page.text)
    assert retry is not None, page.text
    csrf = CSRF.search(page.text)
    assert csrf is not None
    done = app_client.post(retry.group(1), data={"csrf_token": csrf.group(1)})
    assert done.status_code == 303
    with store.uow.read_only() as uow:
        job = uow.jobs.get(int(retry.group(2)))
    assert job is not None and job.state is JobState.QUEUED
    assert "Queued again" in app_client.get(done.headers["location"]).text


# --- settings and the command line -----------------------------------------------------------


def test_production_refuses_the_outbox_in_one_line(database_url: str) -> None:
    from caredesk.settings import UnsafeSettings

    strong = "k" * 48
    with pytest.raises(UnsafeSettings) as refused:
        Settings(
            env="production", mail_signing_key=strong, mail_transport="outbox"
        ).check_production()
    assert "CAREDESK_MAIL_TRANSPORT=outbox" in str(refused.value)
    assert "\n" not in str(refused.value)
    # Production never falls back to the outbox: unset, it sends by SMTP.
    chosen = Settings(env="production", mail_signing_key=strong)
    chosen.check_production()
    assert chosen.outbound_transport == "smtp"


def test_portal_link_prints_a_link_on_the_base_url(
    store: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caredesk.cli.main import app

    monkeypatch.setenv("CAREDESK_DATABASE_URL", store.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    monkeypatch.delenv("CAREDESK_PORTAL_URL", raising=False)
    monkeypatch.setenv("CAREDESK_BASE_URL", "http://127.0.0.1:8123/")
    printed = CliRunner().invoke(app, ["portal", "link", CUSTOMER])
    assert printed.exit_code == 0, printed.output
    assert re.fullmatch(
        r"http://127\.0\.0\.1:8123/portal/sign-in/[A-Za-z0-9_\-]+", printed.output.strip()
    ), printed.output


def test_the_portal_mails_links_on_the_base_url(store: Container) -> None:
    store.settings = store.settings.model_copy(update={"base_url": "http://desk.example:8080"})
    with TestClient(create_app(container=store), follow_redirects=False) as client:
        ask_for_link(client)
    with store.uow.read_only() as uow:
        sent = uow.mail.find(direction=None, status=None, limit=1)
    assert sent and sent[0].body_text is not None
    assert "http://desk.example:8080/portal/sign-in/" in sent[0].body_text


def test_the_outbox_lists_newest_first_and_keeps_mail_of_no_record(store: Container) -> None:
    """A message handed over twice (a retry after a crash) is kept twice, never lost."""
    keeper = OutboxMailer(store.uow, store.clock)
    raw = b"Message-ID: <x@desk>\r\nSubject: hi\r\n\r\nbody\r\n"
    keeper.send("support@caredesk.example", ["a@example.com"], raw)
    store.clock.advance(minutes=1)
    keeper.send("support@caredesk.example", ["a@example.com"], raw)
    kept = outbox.caught_mail(store.uow.read_only(), SYSTEM)
    assert [k.caught.caught_at for k in kept] == [
        store.clock.now(),
        store.clock.now() - timedelta(minutes=1),
    ]
    assert all(k.mail is None for k in kept)


def test_erasing_a_customer_deletes_their_kept_mail(
    app_client: TestClient, store: Container, run_jobs: Callable[[], int]
) -> None:
    from caredesk.services.privacy import erasure

    ask_for_link(app_client)
    run_jobs()

    def kept_for_maya() -> list[outbox.CaughtItem]:
        found = outbox.caught_mail(store.uow.read_only(), SYSTEM)
        return [k for k in found if CUSTOMER in k.caught.recipients]

    assert len(kept_for_maya()) == 1
    before = len(outbox.caught_mail(store.uow.read_only(), SYSTEM))
    erasure.erase_customer(store.uow(), SYSTEM, store.clock.now(), "maya")
    assert kept_for_maya() == []
    # Gone, not only rewritten: the kept copy goes with the mail it copies.
    assert len(outbox.caught_mail(store.uow.read_only(), SYSTEM)) == before - 1
