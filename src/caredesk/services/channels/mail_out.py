"""Outbound email: queued in the caller's transaction, rendered and sent by the job queue.

Every email the desk sends goes through here: replies on email cases, acknowledgements,
and the portal's sign-in links and surveys. `send_customer_mail` writes the mail and a
`mail.send` job in the caller's unit of work, so the email exists exactly when the change
that caused it commits. The job renders the MIME message once (its Message-ID is fixed
from then on, so a retry after a crash sends the very same message) and hands it to SMTP:
a temporary refusal is retried with backoff, a permanent one is recorded on the case.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import Case, Message, MessageAdded, MessageKind
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.events import Event
from caredesk.domain.mail import (
    MailDirection,
    MailRecord,
    MailStatus,
    reply_address,
    tagged_subject,
)
from caredesk.services.channels import mail_templates
from caredesk.services.channels.ports import Mailer, SmtpRefused
from caredesk.services.channels.unit import OutboundMailUnit
from caredesk.services.core import jobs
from caredesk.services.core.changes import publish_change
from caredesk.services.core.jobs import (
    HandlerRegistry,
    JobContext,
    PermanentFailure,
    TemporaryFailure,
)

SEND_JOB = "mail.send"
PENDING_DOMAIN = "pending.invalid"
# Templates the desk sends by itself: they say so (RFC 3834), so that other robots stay quiet.
AUTOMATIC_TEMPLATES = frozenset(
    {"acknowledgement", "magic_link", "satisfaction_survey", "weekly_summary"}
)
THREAD_DEPTH = 20
_ADDRESS = re.compile(r"^[^@\s<>,;\"\\]+@[^@\s<>,;\"\\]+\.[^@\s<>,;\"\\]+$")


@dataclass(frozen=True, slots=True)
class MailIdentity:
    """Who the desk's mail is from, and the key its reply addresses are signed with."""

    address: str
    from_name: str
    signing_key: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"


def _one_line(value: str) -> str:
    """Header values never carry a line break: that is how header injection works."""
    return " ".join(value.replace("\x00", " ").split())


def _check_address(address: str) -> str:
    value = address.strip().lower()
    if not _ADDRESS.match(value):
        raise ValidationFailed(f"{address!r} is not an email address", details={"field": "to"})
    return value


def send_customer_mail(
    uow: OutboundMailUnit,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    now: datetime,
    case_id: int | None = None,
    template: str | None = None,
    context: dict[str, Any] | None = None,
    case_message_id: int | None = None,
) -> int:
    """Queue an email to a customer inside the caller's open unit of work; returns its id.

    The caller commits: the mail and its `mail.send` job are written with the caller's
    change or not at all. With `template` (a packaged or admin-edited template such as
    `notification`, `magic_link` or `satisfaction_survey`) the subject, text and HTML are rendered
    from it with the variables `subject`, `text`, `html`, `case_id`, `customer_name`,
    `desk_name` and everything in `context` (a `link`, say); otherwise they are sent as
    given. With `case_id` the mail threads on the case: its subject carries the case tag,
    Reply-To is the case's signed reply address, In-Reply-To and References point at the
    case's mail, and a bounce is recorded on the case.
    """
    recipient = _check_address(to)
    if template is not None:
        rendered = _from_template(uow, template, subject, text, html, case_id, context or {})
        subject, text, html = rendered.subject, rendered.text, rendered.html
    record = MailRecord(
        id=None,
        direction=MailDirection.OUT,
        # The final Message-ID (in our domain) is given when the job renders the message.
        message_id=f"<{uuid.uuid4().hex}@{PENDING_DOMAIN}>",
        status=MailStatus.QUEUED,
        created_at=now,
        subject=_one_line(subject)[:500],
        to=[recipient],
        case_id=case_id,
        case_message_id=case_message_id,
        body_text=text,
        body_html=html,
        template=template,
    )
    uow.mail.add(record)
    assert record.id is not None
    jobs.enqueue(uow, SEND_JOB, {"mail_id": record.id}, now=now, key=send_job_key(record.id))
    publish_change(
        uow,
        SYSTEM,
        now,
        "mail.queued",
        "mail",
        record.id,
        case_id=case_id,
        after={"to": recipient, "template": template},
    )
    return record.id


def _from_template(
    uow: OutboundMailUnit,
    template: str,
    subject: str,
    text: str,
    html: str | None,
    case_id: int | None,
    context: dict[str, Any],
) -> mail_templates.Rendered:
    variables: dict[str, Any] = {
        "subject": subject,
        "text": text,
        "html": html,
        "case_id": case_id,
        "customer_name": "",
        "desk_name": "",
        **context,
    }
    return mail_templates.render(mail_templates.template_in_force(uow, template), variables)


def send_job_key(mail_id: int) -> str:
    """The key of a mail's `mail.send` job: one job per mail, found again by it."""
    return f"mail:{mail_id}"


def on_message_added(uow: OutboundMailUnit, event: Event) -> None:
    """Handler: an answer on a case opened by email (or by the desk's own notice) is mailed."""
    if (
        isinstance(event, MessageAdded)
        and event.message.kind is MessageKind.OUTBOUND
        and event.case.channel.answers_by_email
    ):
        queue_case_reply(uow, event.case, event.message, event.at)


def queue_case_reply(
    uow: OutboundMailUnit, case: Case, message: Message, now: datetime
) -> int | None:
    """An agent's reply on an email case goes to the customer, inside the caller's unit of work.

    It goes to the address the customer last wrote from, else their first address.
    """
    if message.kind is not MessageKind.OUTBOUND or case.id is None:
        return None
    recipient = next(
        (
            r.from_address
            for r in reversed(uow.mail.thread(case.id, THREAD_DEPTH))
            if r.direction is MailDirection.IN and r.from_address
        ),
        None,
    )
    if recipient is None:
        customer = uow.customers.get(case.customer_id)
        recipient = customer.primary_email if customer else None
    if recipient is None:
        return None
    return send_customer_mail(
        uow,
        to=recipient,
        subject=case.subject,
        text=message.body,
        now=now,
        case_id=case.id,
        template="reply",
        case_message_id=message.id,
    )


def _thread_headers(uow: OutboundMailUnit, record: MailRecord) -> tuple[str | None, list[str]]:
    """In-Reply-To (the mail this one answers) and References (the thread, oldest first)."""
    if record.case_id is None:
        return None, []
    earlier = [
        r
        for r in uow.mail.thread(record.case_id, THREAD_DEPTH + 1)
        if r.id != record.id
        and not r.message_id.endswith(f"@{PENDING_DOMAIN}>")
        and (r.id or 0) < (record.id or 0)
    ]
    if not earlier:
        return None, []
    inbound = [r for r in earlier if r.direction is MailDirection.IN]
    answered = (inbound or earlier)[-1].message_id
    return answered, [r.message_id for r in earlier][-THREAD_DEPTH:]


def compose(
    uow: OutboundMailUnit, record: MailRecord, identity: MailIdentity, now: datetime
) -> tuple[EmailMessage, str]:
    """The MIME message for a queued mail, and the address bounces should come back to."""
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(
        display_name=_one_line(identity.from_name), addr_spec=identity.address
    )
    message["To"] = ", ".join(record.to)
    subject = record.subject
    envelope_from = identity.address
    if record.case_id is not None:
        subject = tagged_subject(subject, record.case_id)
        envelope_from = reply_address(identity.address, record.case_id, identity.signing_key)
        message["Reply-To"] = envelope_from
    message["Subject"] = _one_line(subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = record.message_id
    answered, references = _thread_headers(uow, record)
    if answered:
        message["In-Reply-To"] = answered
        message["References"] = " ".join(references)
    if record.template in AUTOMATIC_TEMPLATES:
        message["Auto-Submitted"] = (
            "auto-replied" if record.template == "acknowledgement" else ("auto-generated")
        )
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(record.body_text or "")
    if record.body_html:
        message.add_alternative(record.body_html, subtype="html")
    if record.case_message_id is not None and record.case_id is not None:
        sent = next(
            (m for m in uow.cases.messages(record.case_id) if m.id == record.case_message_id),
            None,
        )
        for attachment in sent.attachments if sent else []:
            content = uow.blobs.get(attachment.sha256)
            if content is None:
                continue
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                content,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
            )
    return message, envelope_from


def deliver(
    ctx: JobContext, payload: dict[str, Any], mailer: Mailer, identity: MailIdentity
) -> None:
    """The `mail.send` job: render once, send, record the outcome. Safe to run again."""
    mail_id = payload.get("mail_id")
    if not isinstance(mail_id, int):
        raise PermanentFailure(f"mail.send needs an integer mail_id, got {mail_id!r}")
    now = ctx.clock.now()
    with ctx.uow() as uow:
        record = uow.mail.get(mail_id)
        if record is None:
            raise PermanentFailure(f"mail {mail_id} does not exist")
        if record.status in (MailStatus.SENT, MailStatus.BOUNCED):
            return  # sent already: this is a job run again after a crash
        # A failed mail whose job an admin retries is sent again, as it was rendered.
        if record.raw_sha256 is None:
            record.message_id = f"<{uuid.uuid4().hex}.m{record.id}@{identity.domain}>"
            message, _ = compose(uow, record, identity, now)
            raw = message.as_bytes()
            record.raw_sha256 = uow.blobs.put(raw)
            uow.mail.save(record)
            uow.commit()
        else:
            stored = uow.blobs.get(record.raw_sha256)
            if stored is None:
                raise PermanentFailure(f"mail {mail_id} lost its rendered source")
            raw = stored
        envelope_from = (
            reply_address(identity.address, record.case_id, identity.signing_key)
            if record.case_id is not None
            else identity.address
        )
        recipients = [*record.to, *record.cc]
    try:
        mailer.send(envelope_from, recipients, raw)
    except SmtpRefused as exc:
        _record_refusal(ctx, mail_id, exc, now)
        if exc.permanent:
            raise PermanentFailure(str(exc)) from exc
        raise TemporaryFailure(str(exc)) from exc
    with ctx.uow() as uow:
        record = uow.mail.get(mail_id)
        assert record is not None
        record.status = MailStatus.SENT
        record.sent_at = now
        record.attempts += 1
        record.last_error = None
        uow.mail.save(record)
        publish_change(uow, SYSTEM, now, "mail.sent", "mail", mail_id, case_id=record.case_id)
        uow.commit()


def _record_refusal(ctx: JobContext, mail_id: int, exc: SmtpRefused, now: datetime) -> None:
    with ctx.uow() as uow:
        record = uow.mail.get(mail_id)
        if record is None:
            return
        record.attempts += 1
        record.last_error = str(exc)[:2000]
        if exc.permanent:
            record.status = MailStatus.FAILED
            if record.case_id is not None:
                note_delivery_failure(uow, record.case_id, ", ".join(record.to), str(exc), now)
        uow.mail.save(record)
        uow.commit()


def note_delivery_failure(
    uow: OutboundMailUnit, case_id: int, recipient: str, reason: str, now: datetime
) -> None:
    """Tell the agents on the case that the customer did not get our mail (an internal note)."""
    case = uow.cases.get(case_id)
    if case is None:
        return
    note = Message(
        id=None,
        case_id=case_id,
        kind=MessageKind.NOTE,
        body=f"Our email to {recipient} was not delivered: {reason}".strip()[:4000],
        created_at=now,
    )
    uow.cases.add_message(note)
    publish_change(
        uow,
        SYSTEM,
        now,
        "mail.delivery_failed",
        "case",
        case_id,
        case_id=case_id,
        after={"recipient": recipient},
    )


def register_mail(registry: HandlerRegistry, mailer: Mailer, identity: MailIdentity) -> None:
    """The job handlers of email; `bootstrap.wire_jobs` calls this with the transport's mailer
    (SMTP, or the development outbox) and the desk's mail identity."""
    registry.register(SEND_JOB, lambda ctx, payload: deliver(ctx, payload, mailer, identity))
