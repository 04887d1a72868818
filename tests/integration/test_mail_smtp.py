"""Mail round trips with real SMTP peers: smtplib into caredesk's listener, and caredesk's
outbound queue into a local aiosmtpd sink; plus the HTTP webhook, templates and imports."""

from __future__ import annotations

import mailbox
import smtplib
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.adapters.mail.smtp_in import SmtpListener
from caredesk.adapters.mail.smtp_out import SmtpMailer
from caredesk.bootstrap import Container, accepted_domains, mail_identity
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.cases import MessageKind
from caredesk.domain.jobs import JobState
from caredesk.domain.mail import INBOUND_SCOPE, MailDirection, MailStatus, case_from_addresses
from caredesk.services.access import auth
from caredesk.services.cases import cases as case_service
from caredesk.services.channels import mail_out
from caredesk.services.core import jobs
from caredesk.services.core.jobs import HandlerRegistry, JobContext, Worker
from caredesk.settings import Settings
from tests.conftest import ManualClock
from tests.integration.mail_peers import SmtpSink, free_port

CORPUS = Path(__file__).parent.parent / "data" / "mail"
SUPPORT = "support@shop.example"
KEY = "smtp-test-key"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def settings(database_url: str, sink: SmtpSink) -> Settings:
    return Settings(
        database_url=database_url,
        log_json=True,
        log_level="warning",
        semantic_search=False,
        embedded_worker=False,
        mail_address=SUPPORT,
        mail_from_name="Shop Support",
        mail_signing_key=KEY,
        mail_max_message_bytes=64 * 1024,
        mail_rate_limit_per_hour=20,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
    )


@pytest.fixture
def listener(container: Container) -> Iterator[SmtpListener]:
    intake = container.mail_intake()
    running = SmtpListener(
        lambda raw, envelope: intake.deliver(raw, envelope),
        host="127.0.0.1",
        port=free_port(),
        domains=accepted_domains(container.settings),
        max_message_bytes=container.settings.mail_max_message_bytes,
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def run_jobs(container: Container) -> Iterator[Callable[[], int]]:
    registry = HandlerRegistry()
    mailer = SmtpMailer(container.settings)
    mail_out.register_mail(registry, mailer, mail_identity(container.settings))
    ctx = JobContext(uow=container.uow, clock=container.clock)
    worker = Worker(ctx, registry, name="test-worker", options=container.worker_options)
    yield worker.run_once
    mailer.close()


def compose(
    *,
    sender: str = "Maya Hart <maya.hart@example.net>",
    to: str = SUPPORT,
    subject: str = "The kettle does not heat",
    body: str = "It stopped heating after two days.",
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def smtp_send(listener: SmtpListener, message: EmailMessage, rcpt: list[str] | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.send_message(message, to_addrs=rcpt)


def only_case(container: Container) -> int:
    with container.uow() as uow:
        records = uow.mail.find(direction=MailDirection.IN, status=None, limit=10)
    case_ids = {r.case_id for r in records}
    assert len(case_ids) == 1
    (case_id,) = case_ids
    assert case_id is not None
    return case_id


def test_mail_round_trips_between_a_customer_and_the_desk_with_threading(
    container: Container,
    listener: SmtpListener,
    sink: SmtpSink,
    run_jobs: Callable[[], int],
    clock: ManualClock,
) -> None:
    first = compose()
    smtp_send(listener, first)
    case_id = only_case(container)
    assert run_jobs() == 1
    # The acknowledgement: threaded, tagged, signed reply address, marked automatic.
    (ack,) = sink.received
    headers = ack.message
    assert ack.rcpt_to == ["maya.hart@example.net"]
    assert headers["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in str(headers["References"])
    assert str(headers["Subject"]).startswith(f"[#{case_id}] ")
    assert headers["Auto-Submitted"] == "auto-replied"
    assert case_from_addresses([str(headers["Reply-To"])], KEY) == case_id
    assert case_from_addresses([ack.mail_from], KEY) == case_id  # bounces come back to the case
    assert str(headers["Message-ID"]).endswith("@shop.example>")

    # An agent answers on the case; the reply goes out by mail, with HTML and text parts.
    clock.advance(minutes=5)
    case_service.add_message(
        container.uow(),
        SYSTEM,
        clock.now(),
        case_id,
        kind=MessageKind.OUTBOUND,
        body="Please hold the reset button for five seconds.",
    )
    assert run_jobs() == 1
    reply = sink.received[-1].message
    assert reply["Auto-Submitted"] is None
    assert reply["In-Reply-To"] == first["Message-ID"]
    assert reply.get_body(("plain",)) is not None
    assert reply.get_body(("html",)) is not None
    text = reply.get_body(("plain",))
    assert text is not None and "reset button" in text.get_content()

    # The customer answers our reply from their phone: it lands on the same case, trimmed.
    clock.advance(minutes=5)
    answer = compose(
        subject=f"Re: {reply['Subject']}",
        to=str(reply["Reply-To"]),
        body="That worked, thank you!\n\nOn Tue, Shop Support wrote:\n> Please hold the reset",
        in_reply_to=str(reply["Message-ID"]),
    )
    smtp_send(listener, answer)
    view = case_service.get_case(container.uow(), SYSTEM, case_id)
    assert [m.kind for m in view.messages] == [
        MessageKind.INBOUND,
        MessageKind.OUTBOUND,
        MessageKind.INBOUND,
    ]
    assert view.messages[-1].body == "That worked, thank you!"

    # Their out-of-office answers our next mail: recorded, never answered, no loop.
    ooo = compose(
        subject="Automatic reply: away",
        body="I am away.",
        in_reply_to=str(reply["Message-ID"]),
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )
    smtp_send(listener, ooo)
    assert run_jobs() == 0
    assert len(sink.received) == 2
    assert only_case(container) == case_id


def test_a_temporary_smtp_refusal_is_retried_and_a_permanent_one_is_recorded_on_the_case(
    container: Container,
    listener: SmtpListener,
    sink: SmtpSink,
    run_jobs: Callable[[], int],
    clock: ManualClock,
) -> None:
    sink.handler.refuse_with = "451 4.3.0 try later"
    smtp_send(listener, compose())
    case_id = only_case(container)
    assert run_jobs() == 1
    with container.uow() as uow:
        (ours,) = uow.mail.find(direction=MailDirection.OUT, status=None, limit=5)
        assert (ours.status, ours.attempts) == (MailStatus.QUEUED, 1)
        (job,) = [j for j in uow.jobs.find(None, 10, None) if j.kind == "mail.send"]
        assert job.state is JobState.QUEUED
    sink.handler.refuse_with = None
    clock.advance(hours=1)
    assert run_jobs() == 1
    assert len(sink.received) == 1
    with container.uow() as uow:
        sent = uow.mail.get(ours.id or 0)
        assert sent is not None and sent.status is MailStatus.SENT
        first_message_id = sent.message_id
    # The retry sent the message rendered the first time: same Message-ID.
    assert sink.received[0].message["Message-ID"] == first_message_id

    sink.handler.refuse_with = "550 5.1.1 no such user"
    case_service.add_message(
        container.uow(), SYSTEM, clock.now(), case_id, kind=MessageKind.OUTBOUND, body="Hello?"
    )
    assert run_jobs() == 1
    with container.uow() as uow:
        failed = uow.mail.find(direction=MailDirection.OUT, status=MailStatus.FAILED, limit=5)
        assert len(failed) == 1
        dead = [j for j in uow.jobs.find(JobState.DEAD, 10, None) if j.kind == "mail.send"]
        assert len(dead) == 1
    notes = [
        m
        for m in case_service.get_case(container.uow(), SYSTEM, case_id).messages
        if m.kind is MessageKind.NOTE
    ]
    assert len(notes) == 1 and "550" in notes[0].body

    # The address is fixed; an admin retries the dead job and the same mail goes out.
    sink.handler.refuse_with = None
    jobs.retry_job(container.uow(), SYSTEM, clock.now(), dead[0].id or 0)
    assert run_jobs() == 1
    assert len(sink.received) == 2
    with container.uow() as uow:
        resent = uow.mail.get(failed[0].id or 0)
        assert resent is not None and resent.status is MailStatus.SENT
    assert sink.received[-1].message["Message-ID"] == failed[0].message_id


def test_the_listener_refuses_foreign_domains_oversized_mail_and_floods_with_smtp_codes(
    container: Container, listener: SmtpListener
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp_send(listener, compose(to="someone@elsewhere.example"))
    assert refused.value.recipients["someone@elsewhere.example"][0] == 550

    big = compose(body="x" * (70 * 1024))
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as too_big:
        smtp_send(listener, big)
    assert too_big.value.smtp_code == 552

    for i in range(20):
        smtp_send(listener, compose(sender="flood@example.org", body=f"n{i}"))
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        smtp_send(listener, compose(sender="flood@example.org", body="one more"))
    assert deferred.value.smtp_code == 451


def test_a_deferred_message_is_not_stored_and_lands_once_when_the_sender_retries(
    container: Container, listener: SmtpListener, clock: ManualClock
) -> None:
    def stored() -> list[str]:
        with container.uow() as uow:
            found = uow.mail.find(direction=MailDirection.IN, status=None, limit=100)
        return [m.message_id for m in found]

    for i in range(container.settings.mail_rate_limit_per_hour):
        smtp_send(listener, compose(sender="busy@example.org", body=f"n{i}"))
    late = compose(sender="busy@example.org", body="the one that waits")
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        smtp_send(listener, late)
    assert deferred.value.smtp_code == 451
    late_id = late["Message-ID"].strip("<>")
    assert all(late_id not in message_id for message_id in stored())
    # The sending server keeps it and tries again later, as 451 asks.
    clock.advance(hours=1, seconds=1)
    smtp_send(listener, late)
    smtp_send(listener, late)
    assert sum(late_id in message_id for message_id in stored()) == 1


def test_the_whole_corpus_goes_through_smtp_without_a_crash(
    container: Container, listener: SmtpListener
) -> None:
    for path in sorted(CORPUS.glob("*.eml")):
        # On the wire every line ends in CRLF (smtplib sends bytes as they are).
        raw = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
            client.sendmail("sender@example.net", [SUPPORT], raw)
    with container.uow() as uow:
        stored = uow.mail.find(direction=MailDirection.IN, status=None, limit=100)
        failures = uow.mail.failures(100)
    assert len(stored) + len(failures) == len(list(CORPUS.glob("*.eml")))


def test_portal_mail_renders_a_template_and_keeps_headers_on_one_line(
    container: Container, sink: SmtpSink, run_jobs: Callable[[], int], clock: ManualClock
) -> None:
    with container.uow() as uow:
        mail_out.send_customer_mail(
            uow,
            to="maya.hart@example.net",
            subject="Sign in\r\nBcc: victim@example.com",
            text="",
            now=clock.now(),
            template="magic_link",
            context={"link": "https://shop.example/portal/s/abc", "customer_name": "Maya"},
        )
        uow.commit()
    assert run_jobs() == 1
    (sent,) = sink.received
    assert sent.rcpt_to == ["maya.hart@example.net"]
    message = sent.message
    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"])
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",))
    assert text is not None and "https://shop.example/portal/s/abc" in text.get_content()
    assert "Maya" in text.get_content()


def test_an_address_with_header_injection_is_refused(container: Container) -> None:
    from caredesk.domain.errors import ValidationFailed

    with container.uow() as uow, pytest.raises(ValidationFailed):
        mail_out.send_customer_mail(
            uow,
            to="maya@example.net\r\nBcc: all@example.com",
            subject="x",
            text="y",
            now=container.clock.now(),
        )


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    from caredesk.web.app import create_app

    with TestClient(create_app(container=container)) as test_client:
        yield test_client


def _token(container: Container, role: Role, tools: list[str] | None = None) -> dict[str, str]:
    issued = auth.create_token(
        container.uow(), SYSTEM, container.clock.now(), name="t", role=role, tools=tools
    )
    return {"Authorization": f"Bearer {issued.secret}"}


def test_the_webhook_takes_raw_mail_from_admins_and_inbound_scoped_tokens(
    container: Container, client: TestClient
) -> None:
    raw = (CORPUS / "plain_new.eml").read_bytes()
    headers = {"Content-Type": "message/rfc822"}
    agent = _token(container, Role.AGENT)
    refused = client.post("/api/v1/inbound/email", content=raw, headers={**headers, **agent})
    assert refused.status_code == 403
    scoped = _token(container, Role.AGENT, tools=[INBOUND_SCOPE])
    first = client.post("/api/v1/inbound/email", content=raw, headers={**headers, **scoped})
    assert first.status_code == 202, first.text
    assert first.json()["outcome"] == "new_case"
    again = client.post("/api/v1/inbound/email", content=raw, headers={**headers, **scoped})
    assert again.json() == {**first.json(), "outcome": "duplicate", "detail": "already stored"}
    # The scoped token does nothing else.
    assert client.get("/api/v1/cases", headers=scoped).status_code == 403

    admin = _token(container, Role.ADMIN)
    broken = client.post("/api/v1/inbound/email", content=b"\x00", headers={**headers, **admin})
    assert broken.status_code == 202
    if broken.json()["outcome"] == "failed":
        listed = client.get("/api/v1/inbound/failed", headers=admin).json()
        assert len(listed) == 1
        source = client.get(listed[0]["raw_url"], headers=admin)
        assert source.content == b"\x00"
    assert client.get("/api/v1/inbound/failed", headers=agent).status_code == 403
    empty = client.post("/api/v1/inbound/email", content=b"", headers={**headers, **admin})
    assert empty.status_code == 422
    listed_mail = client.get("/api/v1/mail?direction=out", headers=admin).json()
    assert [m["status"] for m in listed_mail] == ["queued"]


def test_templates_are_editable_checked_and_resettable(
    container: Container, client: TestClient
) -> None:
    admin = _token(container, Role.ADMIN)
    names = [t["name"] for t in client.get("/api/v1/mail/templates", headers=admin).json()]
    assert {"acknowledgement", "reply", "magic_link", "satisfaction_survey"} <= set(names)
    edit: dict[str, Any] = {"subject": "We got it: {{ subject }}", "text": "Case {{ case_id }}."}
    changed = client.put("/api/v1/mail/templates/acknowledgement", json=edit, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 1 and changed.json()["edited"] is True
    broken = client.put(
        "/api/v1/mail/templates/acknowledgement",
        json={"subject": "{{ unclosed", "text": "x"},
        headers=admin,
    )
    assert broken.status_code == 422
    agent = _token(container, Role.AGENT)
    assert (
        client.put("/api/v1/mail/templates/acknowledgement", json=edit, headers=agent).status_code
        == 403
    )
    with container.uow() as uow:
        mail_out.send_customer_mail(
            uow,
            to="a@example.net",
            subject="Hello",
            text="",
            now=container.clock.now(),
            case_id=None,
            template="acknowledgement",
        )
        uow.commit()
        (queued,) = uow.mail.find(direction=MailDirection.OUT, status=None, limit=1)
    assert queued.subject == "We got it: Hello"
    reset = client.delete("/api/v1/mail/templates/acknowledgement", headers=admin)
    assert reset.json()["edited"] is False


def test_a_sandboxed_template_cannot_reach_python_internals(
    container: Container, client: TestClient
) -> None:
    admin = _token(container, Role.ADMIN)
    evil = {"subject": "x", "text": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}
    assert (
        client.put("/api/v1/mail/templates/notification", json=evil, headers=admin).status_code
        == 200
    )
    with container.uow() as uow, pytest.raises(Exception, match=r"unsafe|not render"):
        mail_out.send_customer_mail(
            uow, to="a@example.net", subject="s", text="t", now=container.clock.now(),
            template="notification",
        )  # fmt: skip


def test_mbox_and_maildir_import_history_without_sending_anything(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caredesk.cli.main import app

    for name, value in {
        "CAREDESK_DATABASE_URL": container.settings.database_url,
        "CAREDESK_SEMANTIC_SEARCH": "false",
        "CAREDESK_MAIL_ADDRESS": SUPPORT,
        "CAREDESK_LOG_LEVEL": "warning",
    }.items():
        monkeypatch.setenv(name, value)
    box = mailbox.mbox(tmp_path / "history.mbox")
    for path in ("plain_new.eml", "gmail_reply.eml", "forwarded.eml"):
        box.add((CORPUS / path).read_bytes())
    box.close()
    result = CliRunner().invoke(app, ["import", "mbox", str(tmp_path / "history.mbox")])
    assert result.exit_code == 0, result.output
    assert "imported 3 messages" in result.output
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add((CORPUS / "plain_new.eml").read_bytes())
    maildir.add((CORPUS / "subject_tag_only.eml").read_bytes())
    result = CliRunner().invoke(app, ["import", "maildir", str(tmp_path / "Maildir")])
    assert result.exit_code == 0, result.output
    assert "1 duplicate" in result.output
    with container.uow() as uow:
        assert uow.mail.find(direction=MailDirection.OUT, status=None, limit=10) == []
        assert len(uow.mail.find(direction=MailDirection.IN, status=None, limit=10)) == 4


def test_the_webhook_answers_429_when_a_sender_floods(
    container: Container, client: TestClient
) -> None:
    admin = _token(container, Role.ADMIN)
    headers = {"Content-Type": "message/rfc822", **admin}
    codes = [
        client.post(
            "/api/v1/inbound/email",
            content=compose(sender="flood@example.org", body=f"n{i}").as_bytes(),
            headers=headers,
        ).status_code
        for i in range(21)
    ]
    assert codes[:20] == [202] * 20
    assert codes[20] == 429
    refused = client.post(
        "/api/v1/inbound/email",
        content=compose(sender="flood@example.org", body="again").as_bytes(),
        headers=headers,
    )
    assert refused.json()["code"] == "rate_limited"
