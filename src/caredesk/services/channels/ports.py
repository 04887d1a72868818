"""What the channels need from storage: mail in and out, the portal and webhooks out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
from caredesk.domain.outbound import IPAddress
from caredesk.domain.outbox import CaughtMail
from caredesk.domain.portal import PortalSession, SatisfactionSurvey, SignInRequest
from caredesk.domain.webhooks import Delivery, Subscription
from caredesk.services.core.ports import Repository


class MailRepository(Repository[MailRecord, int], Protocol):
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


@dataclass(frozen=True, slots=True)
class SolvedCase:
    """A solved case that has no survey yet, and where to send one."""

    case_id: int
    customer_id: str
    subject: str
    solved_at: datetime


class PortalRepository(Protocol):
    def add_sign_in(self, request: SignInRequest) -> None: ...

    def sign_in_by_hash(self, token_hash: str) -> SignInRequest | None:
        """The request behind a link, locked so that two clicks cannot both redeem it."""
        ...

    def save_sign_in(self, request: SignInRequest) -> None: ...

    def sign_ins_since(
        self, *, email_key: str | None, client_key: str | None, since: datetime
    ) -> int:
        """How many links were asked for this address, or from this client, since then."""
        ...

    def add_session(self, session: PortalSession) -> None: ...

    def session_by_hash(self, token_hash: str) -> PortalSession | None: ...

    def save_session(self, session: PortalSession) -> None: ...

    def add_survey(self, survey: SatisfactionSurvey) -> None: ...

    def survey_by_hash(self, token_hash: str) -> SatisfactionSurvey | None: ...

    def survey_for_case(self, case_id: int) -> SatisfactionSurvey | None: ...

    def save_survey(self, survey: SatisfactionSurvey) -> None: ...

    def surveys(self, *, answered_since: datetime | None, limit: int) -> list[SatisfactionSurvey]:
        """Answered surveys, newest answer first."""
        ...

    def solved_without_survey(self, *, solved_since: datetime, limit: int) -> list[SolvedCase]: ...


class WebhookRepository(Protocol):
    def add_subscription(self, subscription: Subscription) -> None: ...

    def get_subscription(self, subscription_id: int) -> Subscription | None: ...

    def save_subscription(self, subscription: Subscription) -> None: ...

    def delete_subscription(self, subscription_id: int) -> None: ...

    def subscriptions(self, *, active_only: bool = False) -> list[Subscription]: ...

    def add_delivery(self, delivery: Delivery) -> None: ...

    def get_delivery(self, delivery_id: int) -> Delivery | None: ...

    def save_delivery(self, delivery: Delivery) -> None: ...

    def deliveries(
        self, subscription_id: int, limit: int, before_id: int | None
    ) -> list[Delivery]: ...


class WebhookSendError(Exception):
    """The receiver could not be reached (refused, timed out, bad TLS)."""


class HostUnresolved(Exception):
    """The host name could not be looked up (no such name, or the resolver failed)."""


class HostResolver(Protocol):
    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address the HTTP client could connect to for this host, as it would look
        them up (numeric forms such as 0x7f000001 included); raise HostUnresolved."""
        ...


class WebhookSender(Protocol):
    def post(
        self, url: str, addresses: Sequence[IPAddress], body: bytes, headers: dict[str, str]
    ) -> int:
        """POST the body to the URL, connecting only to these (checked) addresses, never
        following a redirect; return the HTTP status, or raise WebhookSendError."""
        ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasMail(Protocol):
    @property
    def mail(self) -> MailRepository: ...


class HasOutbox(Protocol):
    @property
    def outbox(self) -> OutboxRepository: ...


class HasPortal(Protocol):
    @property
    def portal(self) -> PortalRepository: ...


class HasWebhooks(Protocol):
    @property
    def webhooks(self) -> WebhookRepository: ...
