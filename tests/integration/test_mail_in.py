"""Inbound email on a real database: threading, duplicates, loops, bounces, bad input."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest

from caredesk.adapters.mail.parse import parse_mail
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import CaseStatus, Channel, MessageKind
from caredesk.domain.mail import MailDirection, MailStatus, reply_address
from caredesk.services.cases import cases as case_service
from caredesk.services.channels.mail_in import (
    Envelope,
    IntakeResult,
    Outcome,
    list_failures,
    list_mail,
    receive_mail,
)
from caredesk.settings import Settings
from tests.conftest import ManualClock

CORPUS = Path(__file__).parent.parent / "data" / "mail"
SUPPORT = "support@shop.example"
KEY = "test-signing-key"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        log_json=True,
        log_level="warning",
        semantic_search=False,
        mail_address=SUPPORT,
        mail_signing_key=KEY,
        mail_rate_limit_per_hour=5,
    )


def build(
    *,
    sender: str = "Maya Hart <maya.hart@example.net>",
    to: str = SUPPORT,
    subject: str = "Wrong items in my first order",
    body: str = "I received two t-shirts instead of two dresses.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.net")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


def deliver(container: Container, raw: bytes, **kwargs: object) -> IntakeResult:
    return receive_mail(
        container.uow(),
        raw,
        now=container.clock.now(),
        config=container.mail,
        parser=parse_mail,
        **kwargs,  # type: ignore[arg-type]
    )


def messages(container: Container, case_id: int) -> list[object]:
    return case_service.get_case(container.uow(), SYSTEM, case_id).messages  # type: ignore[return-value]


def test_a_first_message_opens_an_email_case_for_a_new_customer_and_is_acknowledged(
    container: Container,
) -> None:
    result = deliver(container, (CORPUS / "plain_new.eml").read_bytes())
    assert result.outcome is Outcome.NEW_CASE
    assert result.case_id is not None
    view = case_service.get_case(container.uow(), SYSTEM, result.case_id)
    assert view.case.channel is Channel.EMAIL
    assert view.case.subject == "Wrong items in my first order"
    assert [m.kind for m in view.messages] == [MessageKind.INBOUND]
    assert "two t-shirts" in view.messages[0].body
    with container.uow() as uow:
        owner = uow.customers.email_owner("maya.hart@example.net")
        assert owner == view.case.customer_id
        customer = uow.customers.get(owner)
        assert customer is not None and customer.first_name == "Maya"
        stored = uow.mail.thread(result.case_id, 10)
        assert [(r.direction, r.status) for r in stored] == [
            (MailDirection.IN, MailStatus.FILED),
            (MailDirection.OUT, MailStatus.QUEUED),
        ]
        assert stored[0].message_id == "<CAF3x9=first-order-1@mail.example.net>"
        assert stored[1].template == "acknowledgement"
        assert stored[1].to == ["maya.hart@example.net"]
        raw = uow.blobs.get(stored[0].raw_sha256 or "")
        assert raw == (CORPUS / "plain_new.eml").read_bytes()
        triage = uow.triage.case_triage(result.case_id)
        assert triage is not None
        jobs = [j for j in uow.jobs.find(None, 10, None) if j.kind == "mail.send"]
        assert [j.payload for j in jobs] == [{"mail_id": stored[1].id}]


def test_a_reply_threads_by_in_reply_to_and_is_trimmed(container: Container) -> None:
    first = deliver(container, build(message_id="<m1@mail.example.net>"))
    reply = deliver(
        container,
        build(
            subject="Re: Wrong items",
            body="Any news?\n\nOn Mon, Mar 2, 2026 at 10:30 AM Maya wrote:\n> I received two",
            message_id="<m2@mail.example.net>",
            in_reply_to="<m1@mail.example.net>",
        ),
    )
    assert reply.outcome is Outcome.FILED
    assert reply.case_id == first.case_id
    assert first.case_id is not None
    bodies = [
        m.body for m in case_service.get_case(container.uow(), SYSTEM, first.case_id).messages
    ]
    assert bodies[-1] == "Any news?"


def test_a_reply_threads_by_references_when_in_reply_to_is_unknown(container: Container) -> None:
    first = deliver(container, build(message_id="<r1@mail.example.net>"))
    reply = deliver(
        container,
        build(
            message_id="<r3@mail.example.net>",
            in_reply_to="<never-seen@elsewhere.example>",
            references="<r1@mail.example.net> <never-seen@elsewhere.example>",
        ),
    )
    assert (reply.outcome, reply.case_id) == (Outcome.FILED, first.case_id)


def test_the_case_tag_threads_only_for_the_cases_own_customer(container: Container) -> None:
    first = deliver(container, build(message_id="<t1@mail.example.net>"))
    tagged = f"Re: [#{first.case_id}] my order"
    own = deliver(container, build(subject=tagged, body="From my phone."))
    assert (own.outcome, own.case_id) == (Outcome.FILED, first.case_id)
    stranger = deliver(
        container, build(sender="mallory@example.com", subject=tagged, body="Refund me instead.")
    )
    assert stranger.outcome is Outcome.NEW_CASE
    assert stranger.case_id != first.case_id


def test_a_signed_plus_address_threads_and_a_forged_one_does_not(container: Container) -> None:
    first = deliver(container, build(message_id="<p1@mail.example.net>"))
    assert first.case_id is not None
    signed = reply_address(SUPPORT, first.case_id, KEY)
    # The customer's colleague answers from another mailbox, to the case's reply address.
    colleague = deliver(container, build(sender="sam@example.net", to=signed, body="Same here."))
    assert (colleague.outcome, colleague.case_id) == (Outcome.FILED, first.case_id)
    forged = reply_address(SUPPORT, first.case_id, "not-our-key")
    attacker = deliver(container, build(sender="mallory@example.com", to=forged))
    assert attacker.outcome is Outcome.NEW_CASE
    assert attacker.case_id != first.case_id
    # The plus-address may also sit only in the SMTP envelope (a Bcc, a forwarder).
    enveloped = deliver(
        container,
        build(sender="sam@example.net", body="Envelope only."),
        envelope=Envelope(rcpt_to=[signed]),
    )
    assert enveloped.case_id == first.case_id


def test_the_same_message_delivered_twice_is_stored_once(container: Container) -> None:
    raw = build(message_id="<dup@mail.example.net>", cc="sales@shop.example")
    first = deliver(container, raw)
    again = deliver(container, raw)
    assert again.outcome is Outcome.DUPLICATE
    assert again.case_id == first.case_id
    assert first.case_id is not None
    assert len(messages(container, first.case_id)) == 1


def test_mail_without_a_message_id_is_still_deduplicated(container: Container) -> None:
    raw = b"From: a@example.net\r\nTo: support@shop.example\r\nSubject: hi\r\n\r\nhello\r\n"
    assert deliver(container, raw).outcome is Outcome.NEW_CASE
    assert deliver(container, raw).outcome is Outcome.DUPLICATE


def test_a_cc_d_customer_replying_to_all_does_not_open_a_second_case(
    container: Container,
) -> None:
    first = deliver(
        container,
        build(message_id="<cc1@mail.example.net>", cc="Partner <partner@example.net>"),
    )
    partner = deliver(
        container,
        build(
            sender="Partner <partner@example.net>",
            to=f"maya.hart@example.net, {SUPPORT}",
            subject="Re: Wrong items in my first order",
            body="Adding: it was order S-MAYA-FIRST.",
            in_reply_to="<cc1@mail.example.net>",
            references="<cc1@mail.example.net>",
        ),
    )
    assert (partner.outcome, partner.case_id) == (Outcome.FILED, first.case_id)
    with container.uow() as uow:
        assert uow.customers.email_owner("partner@example.net") is None


def test_a_reply_reopens_a_solved_case_and_mail_on_a_closed_case_opens_a_linked_one(
    container: Container, clock: ManualClock
) -> None:
    first = deliver(container, build(message_id="<s1@mail.example.net>"))
    assert first.case_id is not None
    case_service.change_status(
        container.uow(), SYSTEM, clock.now(), first.case_id, CaseStatus.SOLVED
    )
    clock.advance(hours=1)
    reply = deliver(
        container, build(message_id="<s2@mail.example.net>", in_reply_to="<s1@mail.example.net>")
    )
    assert reply.case_id == first.case_id
    assert (
        case_service.get_case(container.uow(), SYSTEM, first.case_id).case.status is CaseStatus.OPEN
    )
    case_service.change_status(
        container.uow(), SYSTEM, clock.now(), first.case_id, CaseStatus.SOLVED
    )
    case_service.change_status(
        container.uow(), SYSTEM, clock.now(), first.case_id, CaseStatus.CLOSED
    )
    late = deliver(
        container, build(message_id="<s3@mail.example.net>", in_reply_to="<s2@mail.example.net>")
    )
    assert late.outcome is Outcome.NEW_CASE
    assert late.case_id != first.case_id
    assert late.case_id is not None
    linked = case_service.get_case(container.uow(), SYSTEM, late.case_id).case
    assert linked.custom_fields["previous_case"] == first.case_id


def test_an_auto_reply_on_a_thread_is_a_note_and_is_never_acknowledged(
    container: Container,
) -> None:
    first = deliver(container, build(message_id="<a1@mail.example.net>"))
    assert first.case_id is not None
    before = case_service.get_case(container.uow(), SYSTEM, first.case_id).case.status
    ooo = deliver(
        container,
        build(
            subject="Out of office",
            body="I am away until Monday.",
            in_reply_to="<a1@mail.example.net>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    assert (ooo.outcome, ooo.case_id) == (Outcome.FILED, first.case_id)
    view = case_service.get_case(container.uow(), SYSTEM, first.case_id)
    assert view.messages[-1].kind is MessageKind.NOTE
    assert view.case.status is before
    with container.uow() as uow:
        outbound = [
            r for r in uow.mail.thread(first.case_id, 10) if r.direction is MailDirection.OUT
        ]
    assert len(outbound) == 1  # the acknowledgement of the first message only


@pytest.mark.parametrize("name", ["auto_reply.eml", "out_of_office_x.eml"])
def test_an_unmatched_auto_reply_is_kept_unfiled_without_a_case(
    container: Container, name: str
) -> None:
    result = deliver(container, (CORPUS / name).read_bytes())
    assert result.outcome in (Outcome.UNFILED, Outcome.FILED)
    if result.outcome is Outcome.UNFILED:
        assert result.case_id is None
        unfiled = list_mail(container.uow(), SYSTEM, status=MailStatus.UNFILED)
        assert [r.id for r in unfiled] == [result.mail_id]
    with container.uow() as uow:
        assert uow.mail.find(direction=MailDirection.OUT, status=None, limit=10) == []


def test_list_mail_opens_a_tagged_case_but_is_never_answered(container: Container) -> None:
    result = deliver(container, (CORPUS / "mailing_list.eml").read_bytes())
    assert result.outcome is Outcome.NEW_CASE
    assert result.case_id is not None
    case = case_service.get_case(container.uow(), SYSTEM, result.case_id).case
    assert "mailing-list" in case.tags
    with container.uow() as uow:
        assert uow.mail.find(direction=MailDirection.OUT, status=None, limit=10) == []


def test_a_bounce_marks_our_mail_bounced_and_notes_it_on_the_case(container: Container) -> None:
    first = deliver(container, build(message_id="<b1@mail.example.net>"))
    assert first.case_id is not None
    with container.uow() as uow:
        ours = next(
            r for r in uow.mail.thread(first.case_id, 10) if r.direction is MailDirection.OUT
        )
        ours.message_id = "<case-9.out-1@shop.example>"
        uow.mail.save(ours)
        uow.commit()
    bounce = deliver(container, (CORPUS / "bounce.eml").read_bytes())
    assert (bounce.outcome, bounce.case_id) == (Outcome.BOUNCE, first.case_id)
    view = case_service.get_case(container.uow(), SYSTEM, first.case_id)
    assert view.messages[-1].kind is MessageKind.NOTE
    assert "no.such.user@example.com" in view.messages[-1].body
    with container.uow() as uow:
        again = uow.mail.get(ours.id or 0)
        assert again is not None and again.status is MailStatus.BOUNCED


def test_a_bounce_about_nothing_we_sent_opens_no_case(container: Container) -> None:
    bounce = deliver(container, (CORPUS / "bounce.eml").read_bytes())
    assert (bounce.outcome, bounce.case_id) == (Outcome.BOUNCE, None)
    with container.uow() as uow:
        assert uow.customers.email_owner("mailer-daemon@mx.example.com") is None


def test_mail_from_our_own_addresses_is_never_ingested(container: Container) -> None:
    own = deliver(container, build(sender=f"Shop <{SUPPORT}>"))
    plus = deliver(container, build(sender=reply_address(SUPPORT, 7, KEY)))
    assert (own.outcome, plus.outcome) == (Outcome.OWN, Outcome.OWN)
    with container.uow() as uow:
        assert uow.mail.find(direction=None, status=None, limit=10) == []


def test_a_sender_over_the_hourly_limit_is_deferred_until_the_window_moves(
    container: Container, clock: ManualClock
) -> None:
    outcomes = [deliver(container, build(body=f"message {i}")).outcome for i in range(6)]
    assert outcomes[:5] == [Outcome.NEW_CASE] * 5
    assert outcomes[5] is Outcome.DEFERRED
    clock.advance(hours=1, seconds=1)
    assert deliver(container, build(body="later")).outcome is Outcome.NEW_CASE
    # Imports of history are not rate limited.
    clock.advance(seconds=1)
    imported = [
        deliver(container, build(body=f"old {i}"), rate_limit=False).outcome for i in range(6)
    ]
    assert Outcome.DEFERRED not in imported


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\xff\xfe\x00garbage"])
def test_unparseable_mail_is_kept_raw_for_admins(container: Container, raw: bytes) -> None:
    result = deliver(container, raw, envelope=Envelope(mail_from="x@example.net", source="http"))
    if result.outcome is Outcome.FAILED:
        failures = list_failures(container.uow(), SYSTEM)
        assert len(failures) == 1
        assert failures[0].source == "http"
        with container.uow() as uow:
            assert uow.blobs.get(failures[0].raw_sha256) == raw
    else:
        # Lenient parsing may still make something of it; then it is on a case or unfiled.
        assert result.outcome in (Outcome.NEW_CASE, Outcome.UNFILED)


def test_a_parser_crash_is_kept_raw_too(container: Container) -> None:
    def exploding(raw: bytes) -> object:
        raise RuntimeError("boom")

    result = receive_mail(
        container.uow(),
        b"From: a@b.example\r\n\r\nx",
        now=container.clock.now(),
        config=container.mail,
        parser=exploding,  # type: ignore[arg-type]
    )
    assert (result.outcome, result.detail) == (Outcome.FAILED, "boom")


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml")))
def test_every_corpus_message_is_stored_safely(container: Container, name: str) -> None:
    result = deliver(container, (CORPUS / name).read_bytes())
    assert result.outcome in (
        Outcome.NEW_CASE,
        Outcome.FILED,
        Outcome.UNFILED,
        Outcome.FAILED,
        Outcome.BOUNCE,
    )
    if result.case_id is not None:
        view = case_service.get_case(container.uow(), SYSTEM, result.case_id)
        for message in view.messages:
            assert "<script" not in message.body
        assert "\n" not in view.case.subject


def test_attachments_are_stored_by_content_hash(container: Container) -> None:
    result = deliver(container, (CORPUS / "attachments_latin1.eml").read_bytes())
    assert result.case_id is not None
    message = case_service.get_case(container.uow(), SYSTEM, result.case_id).messages[0]
    assert message.attachments
    with container.uow() as uow:
        for attachment in message.attachments:
            content = uow.blobs.get(attachment.sha256)
            assert content is not None and len(content) == attachment.size


def test_rate_window_is_an_hour(container: Container, clock: ManualClock) -> None:
    for i in range(5):
        deliver(container, build(body=f"n{i}"))
        clock.advance(minutes=10)
    # The first one is now 50 minutes old: still counted.
    assert deliver(container, build(body="n5")).outcome is Outcome.DEFERRED
    clock.advance(minutes=11)
    assert deliver(container, build(body="n6")).outcome is Outcome.NEW_CASE


def test_a_reply_from_apple_mail_threads_onto_the_case_our_mail_started(
    container: Container,
) -> None:
    first = deliver(container, build(message_id="<CAF3x9=first-order-1@mail.example.net>"))
    assert first.case_id is not None
    reply = deliver(container, (CORPUS / "apple_mail_reply.eml").read_bytes())
    assert (reply.outcome, reply.case_id) == (Outcome.FILED, first.case_id)
    last = case_service.get_case(container.uow(), SYSTEM, first.case_id).messages[-1]
    assert last.body == "The dresses arrived today – they fit perfectly."


def test_a_dsn_returning_our_whole_message_marks_that_mail_bounced(container: Container) -> None:
    first = deliver(container, build(message_id="<d1@mail.example.net>"))
    assert first.case_id is not None
    with container.uow() as uow:
        ours = next(
            r for r in uow.mail.thread(first.case_id, 10) if r.direction is MailDirection.OUT
        )
        ours.message_id = "<returned-out-7@shop.example>"
        uow.mail.save(ours)
        uow.commit()
    bounce = deliver(container, (CORPUS / "dsn_returned_message.eml").read_bytes())
    assert (bounce.outcome, bounce.case_id) == (Outcome.BOUNCE, first.case_id)
    with container.uow() as uow:
        again = uow.mail.get(ours.id or 0)
        assert again is not None and again.status is MailStatus.BOUNCED
        assert again.last_error == "bounced: gone@example.org"


def test_mail_without_a_sender_is_kept_unfiled(container: Container) -> None:
    result = deliver(container, (CORPUS / "no_from.eml").read_bytes())
    assert (result.outcome, result.case_id) == (Outcome.UNFILED, None)


def test_an_inline_image_is_stored_on_the_message(container: Container) -> None:
    result = deliver(container, (CORPUS / "inline_image_related.eml").read_bytes())
    assert result.case_id is not None
    (message,) = case_service.get_case(container.uow(), SYSTEM, result.case_id).messages
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("crack.png", "image/png")
    ]
