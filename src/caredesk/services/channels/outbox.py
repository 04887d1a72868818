"""The development outbox, and outbound mail that did not leave, for admins.

With CAREDESK_MAIL_TRANSPORT=outbox the `mail.send` job hands each message to
`OutboxMailer`, which keeps it in the database instead of sending it: a demo or a
developer's desk then shows, at /admin/outbox, every mail it would have sent, links and
all. Whatever the transport, mail a server refused is listed with its error and its job,
so that no failure is silent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import must_exist
from caredesk.domain.jobs import Job
from caredesk.domain.mail import MailRecord
from caredesk.domain.outbox import CaughtMail, MessageView, read_message
from caredesk.services.channels.mail_out import send_job_key
from caredesk.services.channels.unit import OutboundMailUnit
from caredesk.services.core.ports import Clock

LIST_LIMIT = 100


class OutboxMailer:
    """A Mailer that keeps every message (the transport `outbox`); it never refuses one."""

    def __init__(self, uow: Callable[[], OutboundMailUnit], clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def send(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        headers = BytesHeaderParser(policy=default).parsebytes(raw)
        message_id = str(headers.get("Message-ID", "")).strip()
        with self.uow() as uow:
            record = uow.mail.by_message_id(message_id) if message_id else None
            uow.outbox.add(
                CaughtMail(
                    id=None,
                    mail_id=record.id if record else None,
                    envelope_from=envelope_from,
                    recipients=list(recipients),
                    raw_sha256=uow.blobs.put(raw),
                    caught_at=self.clock.now(),
                )
            )
            uow.commit()


@dataclass(frozen=True, slots=True)
class CaughtItem:
    """A line of the outbox: the kept message and the mail it was (its subject and case)."""

    caught: CaughtMail
    mail: MailRecord | None

    @property
    def subject(self) -> str:
        return self.mail.subject if self.mail else ""

    @property
    def case_id(self) -> int | None:
        return self.mail.case_id if self.mail else None


@dataclass(frozen=True, slots=True)
class CaughtMessage:
    item: CaughtItem
    # None when the bytes are gone: the recipient's data was erased, or retention ran.
    view: MessageView | None


@dataclass(frozen=True, slots=True)
class Undelivered:
    """Our mail that a transport refused, with the job that sends (or sent up on) it."""

    mail: MailRecord
    job: Job | None


def caught_mail(uow: OutboundMailUnit, actor: Actor, limit: int = LIST_LIMIT) -> list[CaughtItem]:
    """The outbox, newest first. Admins only: the mail holds customers' sign-in links."""
    actor.require(Permission.MANAGE_JOBS)
    with uow:
        return [
            CaughtItem(c, uow.mail.get(c.mail_id) if c.mail_id else None)
            for c in uow.outbox.recent(limit)
        ]


def open_caught(uow: OutboundMailUnit, actor: Actor, caught_id: int) -> CaughtMessage:
    actor.require(Permission.MANAGE_JOBS)
    with uow:
        caught = must_exist(uow.outbox.get(caught_id), "outbox mail", caught_id)
        record = uow.mail.get(caught.mail_id) if caught.mail_id else None
        raw = uow.blobs.get(caught.raw_sha256)
        # An erased mail keeps its row but loses its bytes (and its raw_sha256).
        if record is not None and record.raw_sha256 != caught.raw_sha256:
            raw = None
        return CaughtMessage(CaughtItem(caught, record), read_message(raw) if raw else None)


def undelivered_mail(
    uow: OutboundMailUnit, actor: Actor, limit: int = LIST_LIMIT
) -> list[Undelivered]:
    """Mail a transport refused (retried, or given up on), newest first, with its job."""
    actor.require(Permission.MANAGE_JOBS)
    with uow:
        return [
            Undelivered(record, uow.jobs.by_key(send_job_key(record.id)))
            for record in uow.mail.undelivered(limit)
            if record.id is not None
        ]
