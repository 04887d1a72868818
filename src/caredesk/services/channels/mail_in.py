"""Inbound email: store each message once, on the right case, and never answer a robot.

Threading never splits a case's thread nor merges two. A message is filed on the case of
the first stored Message-ID it answers (In-Reply-To, then References), else on the case
its subject's tag names when the sender is that case's customer (a tag is easy to guess,
so it alone never lets a stranger in), else on the case a correctly signed plus-address
names (the signature is the proof), else it opens a new case for its sender. A forged
plus-address is simply not a match. A closed case is history: mail on it opens a new case
that points at the old one.

Loop protection: auto-replies, bounces and list mail are recognised by the parser and are
never acknowledged; bounces are recorded against the mail of ours they report; mail from
our own addresses is dropped; a sender over the hourly limit is deferred (a temporary SMTP
refusal, so nothing is lost: the sending server tries again later).

Mail that cannot be parsed is kept raw in `mail_failures` for an admin; it is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from caredesk.domain.agents import SYSTEM, Actor, Permission
from caredesk.domain.cases import Attachment, Case, CaseStatus, Channel, Message, MessageKind
from caredesk.domain.customers import Customer
from caredesk.domain.errors import must_exist
from caredesk.domain.mail import (
    AutoKind,
    InboundMail,
    MailDirection,
    MailFailure,
    MailRecord,
    MailStatus,
    case_from_addresses,
    case_tag,
    is_own_address,
    storable_message_id,
    synthetic_message_id,
)
from caredesk.services.cases.customers import new_customer_id
from caredesk.services.channels import mail_out
from caredesk.services.channels.ports import MailParser
from caredesk.services.channels.unit import MailIntakeUnit
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.copying import built_from
from caredesk.services.core.ports import Clock
from caredesk.services.core.reads import read
from caredesk.services.lifecycle import lifecycle

MAX_ATTACHMENTS = 50
RATE_WINDOW = timedelta(hours=1)
LIST_TAG = "mailing-list"


class Outcome(StrEnum):
    NEW_CASE = "new_case"
    FILED = "filed"
    DUPLICATE = "duplicate"
    UNFILED = "unfiled"
    BOUNCE = "bounce"
    OWN = "own"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class MailConfig:
    """What intake needs of the settings, bound once by bootstrap."""

    own_addresses: list[str]
    signing_key: str
    rate_limit_per_hour: int
    acknowledge: bool
    desk_name: str
    max_attachment_bytes: int
    # A reply to a case solved longer ago than this opens a new, linked case.
    reopen_grace: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What became of one inbound message."""

    outcome: Outcome
    case_id: int | None = None
    mail_id: int | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        """Whether the sender may forget the message (everything but a deferral)."""
        return self.outcome is not Outcome.DEFERRED


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope, when there was one: recipients may differ from the To header."""

    mail_from: str | None = None
    rcpt_to: list[str] = field(default_factory=list)
    source: str = "smtp"


@dataclass(frozen=True, slots=True)
class _Arrival:
    """A mail stored for filing, and what every step of its filing reads."""

    uow: MailIntakeUnit
    mail: InboundMail
    record: MailRecord
    envelope: Envelope
    config: MailConfig
    now: datetime


@command
def receive_mail(
    uow: MailIntakeUnit,
    raw: bytes,
    *,
    now: datetime,
    config: MailConfig,
    parser: MailParser,
    envelope: Envelope | None = None,
    rate_limit: bool = True,
) -> IntakeResult:
    """Store one raw RFC 5322 message on the right case (one transaction)."""
    envelope = envelope or Envelope()
    try:
        mail = parser(raw)
    except Exception as exc:  # any parser failure: the message is kept raw, never lost
        return _keep_failed(uow, raw, str(exc) or type(exc).__name__, now, envelope)
    with uow:
        message_id = storable_message_id(mail.message_id or synthetic_message_id(raw))
        existing = uow.mail.by_message_id(message_id)
        if existing is not None:
            return IntakeResult(Outcome.DUPLICATE, existing.case_id, existing.id, "already stored")
        if is_own_address(mail.from_address, config.own_addresses):
            return IntakeResult(Outcome.OWN, detail="mail from our own address is not ingested")
        if (
            rate_limit
            and mail.from_address
            and uow.mail.received_from(mail.from_address, now - RATE_WINDOW)
            >= config.rate_limit_per_hour
        ):
            return IntakeResult(Outcome.DEFERRED, detail="too many messages from this sender")
        # The headers threading needs are the mail's own; the stored Message-ID is the one
        # every later lookup uses.
        record = built_from(
            MailRecord,
            mail,
            id=None,
            direction=MailDirection.IN,
            message_id=message_id,
            status=MailStatus.FILED,
            created_at=now,
            auto_kind=mail.auto,
            raw_sha256=uow.blobs.put(raw),
        )
        arrival = _Arrival(uow, mail, record, envelope, config, now)
        result = _file_bounce(arrival) if mail.auto is AutoKind.BOUNCE else _file(arrival)
        uow.commit()
        return result


def _keep_failed(
    uow: MailIntakeUnit, raw: bytes, error: str, now: datetime, envelope: Envelope
) -> IntakeResult:
    with uow:
        failure = MailFailure(
            id=None,
            received_at=now,
            raw_sha256=uow.blobs.put(raw),
            size=len(raw),
            error=error,
            source=envelope.source,
            envelope_from=envelope.mail_from,
            envelope_to=list(envelope.rcpt_to),
        )
        uow.mail.add_failure(failure)
        publish_change(
            uow, SYSTEM, now, "mail.unparseable", "mail_failure", failure.id, after={"error": error}
        )
        uow.commit()
    return IntakeResult(Outcome.FAILED, detail=error)


def _matched_case(
    uow: MailIntakeUnit, mail: InboundMail, envelope: Envelope, config: MailConfig
) -> Case | None:
    case_id = uow.mail.case_for(mail.answered_ids)
    if case_id is None:
        tagged = case_tag(mail.subject)
        if tagged is not None and mail.from_address:
            case = uow.cases.get(tagged)
            owner = uow.customers.email_owner(mail.from_address)
            if case is not None and owner is not None and owner == case.customer_id:
                return case
    if case_id is None:
        case_id = case_from_addresses([*envelope.rcpt_to, *mail.recipients], config.signing_key)
    return uow.cases.get(case_id) if case_id is not None else None


def _customer_for(uow: MailIntakeUnit, mail: InboundMail, now: datetime) -> str | None:
    """The sender's customer, created on first contact."""
    address = mail.from_address
    if not address or "@" not in address:
        return None
    owner = uow.customers.email_owner(address)
    if owner is not None:
        return owner
    first, _, last = (mail.from_name or address.split("@")[0]).partition(" ")
    customer = Customer(
        id=new_customer_id(),
        first_name=first.strip()[:200],
        last_name=last.strip()[:200],
        emails=[address],
        created_at=now,
        updated_at=now,
    )
    uow.customers.add(customer)
    publish_change(
        uow,
        SYSTEM,
        now,
        "customer.created",
        "customer",
        customer.id,
        after={"emails": [address], "source": "email"},
    )
    return customer.id


def _attachments(uow: MailIntakeUnit, mail: InboundMail, config: MailConfig) -> list[Attachment]:
    stored = []
    for item in mail.attachments[:MAX_ATTACHMENTS]:
        if len(item.content) > config.max_attachment_bytes:
            continue
        stored.append(
            Attachment(
                sha256=uow.blobs.put(item.content),
                filename=item.filename[:255],
                content_type=item.content_type,
                size=len(item.content),
            )
        )
    return stored


def _file(arrival: _Arrival) -> IntakeResult:
    uow, mail, config, now = arrival.uow, arrival.mail, arrival.config, arrival.now
    case = _matched_case(uow, mail, arrival.envelope, config)
    if case is not None:
        # Mail to a merged-away case belongs to the case it was merged into, which is held
        # until this intake commits: two mails to one case queue instead of conflicting.
        case = lifecycle.live_case(uow, case)
        assert case.id is not None
        case = uow.cases.get_for_change(case.id) or case
    # A customer's reply after the grace period opens a new case linked to the solved one.
    if (
        case is not None
        and case.status is not CaseStatus.CLOSED
        and (mail.auto is not None or lifecycle.takes_reply(case, now, config.reopen_grace))
    ):
        return _file_on_case(arrival, case)
    if mail.auto is AutoKind.AUTO_REPLY:
        # An out-of-office about nothing we know: kept for an admin, never a case.
        return _unfiled(uow, arrival.record, "automatic reply")
    customer_id = _customer_for(uow, mail, now)
    if customer_id is None:
        return _unfiled(uow, arrival.record, "no usable sender address")
    result = _open_case(arrival, customer_id, case)
    if case is not None and result.case_id is not None:
        lifecycle.link_follow_up(uow, SYSTEM, now, result.case_id, case)
    return result


def _unfiled(uow: MailIntakeUnit, record: MailRecord, why: str) -> IntakeResult:
    record.status = MailStatus.UNFILED
    uow.mail.add(record)
    return IntakeResult(Outcome.UNFILED, mail_id=record.id, detail=why)


def _file_on_case(arrival: _Arrival, case: Case) -> IntakeResult:
    uow, mail, record, now = arrival.uow, arrival.mail, arrival.record, arrival.now
    assert case.id is not None
    automatic = mail.auto is not None
    author = uow.customers.email_owner(mail.from_address) if mail.from_address else None
    body = mail.new_text or mail.text
    message = Message(
        id=None,
        case_id=case.id,
        # A robot's mail is shown to agents but must not reopen the case or wake triage.
        kind=MessageKind.NOTE if automatic else MessageKind.INBOUND,
        body=f"Automatic {mail.auto} mail from {mail.from_address}:\n\n{body}"
        if automatic
        else body,
        created_at=now,
        author_customer_id=author,
        attachments=_attachments(uow, mail, arrival.config),
    )
    _add_message(uow, record, message)
    # Reopening, SLA clocks and triage of the customer's words follow from the event.
    case.receive_message(message, now, SYSTEM, audit_after=_message_facts(message, record))
    uow.cases.save(case)
    return IntakeResult(Outcome.FILED, case.id, record.id)


def _add_message(uow: MailIntakeUnit, record: MailRecord, message: Message) -> None:
    """The mail's message on its case, and the stored mail pointing at it."""
    uow.cases.add_message(message)
    record.case_id = message.case_id
    record.case_message_id = message.id
    uow.mail.add(record)


def _open_case(arrival: _Arrival, customer_id: str, previous: Case | None) -> IntakeResult:
    uow, mail, record, now = arrival.uow, arrival.mail, arrival.record, arrival.now
    subject = " ".join(mail.subject.replace(f"[#{previous.id}]" if previous else "\0", "").split())
    case = Case(
        id=None,
        subject=subject or "(no subject)",
        customer_id=customer_id,
        created_at=now,
        updated_at=now,
        channel=Channel.EMAIL,
        tags=[LIST_TAG] if mail.auto is AutoKind.LIST else [],
        custom_fields={"previous_case": previous.id} if previous is not None else {},
    )
    uow.cases.add(case)
    assert case.id is not None
    message = Message(
        id=None,
        case_id=case.id,
        kind=MessageKind.INBOUND,
        body=mail.text,
        created_at=now,
        author_customer_id=customer_id,
        attachments=_attachments(uow, mail, arrival.config),
    )
    _add_message(uow, record, message)
    # Triage and the SLA clocks start from the event, as for a case opened any other way.
    case.opened(
        SYSTEM, now, message, audit_after={"channel": Channel.EMAIL.value, "mail_id": record.id}
    )
    if arrival.config.acknowledge and mail.auto is None and mail.from_address:
        mail_out.send_customer_mail(
            uow,
            to=mail.from_address,
            subject=case.subject,
            text="",
            now=now,
            case_id=case.id,
            template="acknowledgement",
            context={
                "customer_name": mail.from_name.partition(" ")[0],
                "desk_name": arrival.config.desk_name,
            },
        )
    return IntakeResult(Outcome.NEW_CASE, case.id, record.id)


def _file_bounce(arrival: _Arrival) -> IntakeResult:
    """A DSN: mark the mail of ours it reports as bounced and tell the case's agents."""
    uow, mail, record = arrival.uow, arrival.mail, arrival.record
    record.status = MailStatus.BOUNCE
    original = uow.mail.by_message_id(mail.bounced_message_id) if mail.bounced_message_id else None
    case_id = original.case_id if original is not None else None
    if case_id is None:
        case_id = uow.mail.case_for(mail.answered_ids) or case_from_addresses(
            [*arrival.envelope.rcpt_to, *mail.recipients], arrival.config.signing_key
        )
    if original is not None and original.direction is MailDirection.OUT:
        original.status = MailStatus.BOUNCED
        original.last_error = f"bounced: {mail.bounced_recipient or 'unknown recipient'}"
        uow.mail.save(original)
    if case_id is not None and uow.cases.get(case_id) is None:
        case_id = None
    record.case_id = case_id
    uow.mail.add(record)
    if case_id is not None:
        recipient = mail.bounced_recipient or (", ".join(original.to) if original else "?")
        mail_out.note_delivery_failure(
            uow,
            case_id,
            recipient,
            f"the receiving server bounced it ({mail.subject})",
            arrival.now,
        )
    return IntakeResult(Outcome.BOUNCE, case_id, record.id)


def _message_facts(message: Message, record: MailRecord) -> dict[str, Any]:
    return {
        "kind": message.kind.value,
        "attachments": len(message.attachments),
        "channel": Channel.EMAIL.value,
        "mail_id": record.id,
    }


def list_mail(
    uow: MailIntakeUnit,
    actor: Actor,
    *,
    direction: MailDirection | None = None,
    status: MailStatus | None = None,
    limit: int = 50,
) -> list[MailRecord]:
    """Mail as the desk stored it (admins): e.g. unfiled inbound mail or failed outbound."""
    return read(
        uow,
        actor,
        Permission.MANAGE_POLICY,
        lambda u: u.mail.find(direction=direction, status=status, limit=limit),
    )


def list_failures(uow: MailIntakeUnit, actor: Actor, *, limit: int = 50) -> list[MailFailure]:
    """Mail that could not be parsed (admins)."""
    return read(uow, actor, Permission.MANAGE_POLICY, lambda u: u.mail.failures(limit))


def failure_source(uow: MailIntakeUnit, actor: Actor, failure_id: int) -> bytes:
    """The raw source of an unparseable message, byte for byte (admins)."""
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        failure = uow.mail.failure(failure_id)
        raw = uow.blobs.get(failure.raw_sha256) if failure else None
        return must_exist(raw, "mail failure", failure_id)


@dataclass(frozen=True, slots=True)
class MailIntake:
    """Everything an entry point (SMTP, webhook, import) needs to deliver raw mail."""

    uow: Callable[[], MailIntakeUnit]
    clock: Clock
    config: MailConfig
    parser: MailParser

    def deliver(
        self, raw: bytes, envelope: Envelope | None = None, *, rate_limit: bool = True
    ) -> IntakeResult:
        """Deliver one message (a lost race is run again by the command path)."""
        return receive_mail(
            self.uow(),
            raw,
            now=self.clock.now(),
            config=self.config,
            parser=self.parser,
            envelope=envelope,
            rate_limit=rate_limit,
        )
