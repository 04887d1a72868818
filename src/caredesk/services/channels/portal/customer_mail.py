"""Mail to a customer from the portal: what it says, and the mailers that send it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from caredesk.services.channels.unit import PortalUnit

SIGN_IN_TEMPLATE, SURVEY_TEMPLATE, NOTIFICATION_TEMPLATE = (
    "magic_link",
    "satisfaction_survey",
    "notification",
)


@dataclass(frozen=True, slots=True)
class CustomerMail:
    """A message to a customer: `text` says what it is about and `link` is what to click.

    `template` names the mail template that frames them (`magic_link`, `satisfaction_survey`), so a
    store can reword the mail without touching the portal.
    """

    customer_id: str
    to: str
    subject: str
    text: str
    link: str
    template: str
    customer_name: str = ""
    case_id: int | None = None


class CustomerMailer(Protocol):
    def send(self, uow: PortalUnit, mail: CustomerMail, now: datetime) -> None:
        """Send (or queue) a message to a customer within the caller's unit of work, so it
        leaves only if the change that caused it commits."""
        ...


@dataclass
class MemoryOutbox:
    """Keeps what would be sent: for tests and for a desk with no outbound mail set up."""

    sent: list[CustomerMail] = field(default_factory=list)
    limit: int = 1000

    def send(self, uow: PortalUnit, mail: CustomerMail, now: datetime) -> None:
        self.sent.append(mail)
        del self.sent[: -self.limit]

    def last_to(self, address: str) -> CustomerMail | None:
        return next((m for m in reversed(self.sent) if m.to == address.lower()), None)
