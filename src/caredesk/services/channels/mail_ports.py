"""What email in and out needs from the outside world: stored mail, templates, an SMTP peer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from caredesk.domain.mail import (
    InboundMail,
    MailDirection,
    MailFailure,
    MailRecord,
    MailStatus,
    MailTemplate,
)
from caredesk.domain.outbox import CaughtMail


class MailRepository(Protocol):
    def add(self, record: MailRecord) -> None: ...

    def get(self, mail_id: int) -> MailRecord | None: ...

    def save(self, record: MailRecord) -> None: ...

    def by_message_id(self, message_id: str) -> MailRecord | None: ...

    def case_for(self, message_ids: list[str]) -> int | None:
        """The case of the first of these Message-IDs that is stored on one (nearest first)."""
        ...

    def thread(self, case_id: int, limit: int) -> list[MailRecord]:
        """The case's mail, oldest first (at most the `limit` latest)."""
        ...

    def received_from(self, address: str, since: datetime) -> int:
        """How many messages this sender sent us since then (the rate limit)."""
        ...

    def find(
        self, *, direction: MailDirection | None, status: MailStatus | None, limit: int
    ) -> list[MailRecord]: ...

    def undelivered(self, limit: int) -> list[MailRecord]:
        """Our mail that a transport refused, not sent (yet or ever), newest first."""
        ...

    def add_failure(self, failure: MailFailure) -> None: ...

    def failures(self, limit: int) -> list[MailFailure]: ...

    def failure(self, failure_id: int) -> MailFailure | None: ...

    def template(self, name: str) -> MailTemplate | None:
        """An edited template; None when the packaged default applies."""
        ...

    def save_template(self, template: MailTemplate) -> None:
        """Store an edited template and move its version on."""
        ...

    def delete_template(self, name: str) -> bool: ...


class OutboxRepository(Protocol):
    def add(self, caught: CaughtMail) -> None: ...

    def get(self, caught_id: int) -> CaughtMail | None: ...

    def recent(self, limit: int) -> list[CaughtMail]:
        """Newest first."""
        ...


class SmtpRefused(Exception):
    """The SMTP peer refused the message: `permanent` for a 5xx, else worth a retry."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class Mailer(Protocol):
    def send(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        """Hand the message to the SMTP server; raises SmtpRefused."""
        ...


MailParser = Callable[[bytes], InboundMail]
