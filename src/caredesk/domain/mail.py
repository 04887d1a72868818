"""Email as the desk sees it: a parsed inbound message, and the rules of threading.

Threading never splits a case's thread nor merges two: a reply is matched by the Message-IDs
it answers, then by the case tag in its subject (`[#1234]`), then by a signed plus-address
(`support+c1234.<signature>@…`) that nobody can forge to reach another's case.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# The scope of an API token that may post raw mail to the inbound webhook, and nothing else.
INBOUND_SCOPE = "inbound_email"
CASE_TAG = re.compile(r"\[#(\d{1,18})\]")
PLUS_TOKEN = re.compile(r"^[^+@]+\+c(\d{1,18})\.([0-9a-f]{16})@", re.IGNORECASE)


class AutoKind(StrEnum):
    """Mail that must never be answered automatically, and why."""

    AUTO_REPLY = "auto-reply"
    BOUNCE = "bounce"
    LIST = "list"


@dataclass(frozen=True, slots=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMail:
    message_id: str | None
    subject: str
    from_address: str | None
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    new_text: str = ""
    html: str | None = None
    attachments: list[MailAttachment] = field(default_factory=list)
    auto: AutoKind | None = None
    bounced_recipient: str | None = None
    # The Message-ID of our mail that a bounce reports (from the DSN's returned headers).
    bounced_message_id: str | None = None

    @property
    def answered_ids(self) -> list[str]:
        """The Message-IDs this mail answers, nearest first."""
        ids = [*self.in_reply_to, *reversed(self.references)]
        return list(dict.fromkeys(ids))

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc]


def case_tag(subject: str) -> int | None:
    match = CASE_TAG.search(subject)
    return int(match.group(1)) if match else None


def tagged_subject(subject: str, case_id: int) -> str:
    clean = CASE_TAG.sub("", subject).strip()
    return f"[#{case_id}] {clean}" if clean else f"[#{case_id}]"


def _signature(case_id: int, secret: str) -> str:
    return hmac.new(secret.encode(), f"case:{case_id}".encode(), hashlib.sha256).hexdigest()[:16]


def reply_address(mailbox: str, case_id: int, secret: str) -> str:
    """`support@shop.example` → `support+c42.<signature>@shop.example`."""
    local, _, domain = mailbox.partition("@")
    return f"{local}+c{case_id}.{_signature(case_id, secret)}@{domain}"


def case_from_addresses(addresses: list[str], secret: str) -> int | None:
    """The case a signed plus-address names; a forged signature names none."""
    for address in addresses:
        match = PLUS_TOKEN.match(address.strip())
        if match is None:
            continue
        case_id = int(match.group(1))
        if hmac.compare_digest(match.group(2).lower(), _signature(case_id, secret)):
            return case_id
    return None


MAX_MESSAGE_ID_LENGTH = 250


def storable_message_id(message_id: str) -> str:
    """A Message-ID short enough to index; an absurdly long one is replaced by its digest."""
    if len(message_id) <= MAX_MESSAGE_ID_LENGTH:
        return message_id
    return f"<{hashlib.sha256(message_id.encode()).hexdigest()}@digest.invalid>"


def synthetic_message_id(raw: bytes) -> str:
    """A stable id for mail that came without one, so a second delivery is still a duplicate."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


def is_own_address(address: str | None, own: list[str]) -> bool:
    """Our mailboxes and their plus-forms (`support+c42.…@`): mail from them is our own."""
    if not address:
        return False
    local, _, domain = address.lower().partition("@")
    base = f"{local.split('+', 1)[0]}@{domain}"
    return any(base == mailbox.lower() or address.lower() == mailbox.lower() for mailbox in own)


class MailDirection(StrEnum):
    IN = "in"
    OUT = "out"


class MailStatus(StrEnum):
    # Inbound: on a case, kept aside for an admin (no case to file it on), or a bounce.
    FILED = "filed"
    UNFILED = "unfiled"
    BOUNCE = "bounce"
    # Outbound: waiting in the job queue, handed to the SMTP server, refused for good.
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"


@dataclass(slots=True)
class MailRecord:
    """One email the desk received or sends, with the headers threading needs.

    Inbound mail keeps its raw source (by content hash); outbound mail keeps what to send,
    rendered into MIME when it is sent, so a retry sends the same Message-ID again.
    """

    id: int | None
    direction: MailDirection
    message_id: str
    status: MailStatus
    created_at: datetime
    subject: str = ""
    from_address: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    case_id: int | None = None
    case_message_id: int | None = None
    auto_kind: AutoKind | None = None
    raw_sha256: str | None = None
    body_text: str | None = None
    body_html: str | None = None
    template: str | None = None
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None


@dataclass(slots=True)
class MailFailure:
    """Mail that could not be parsed: kept raw, for an admin to look at."""

    id: int | None
    received_at: datetime
    raw_sha256: str
    size: int
    error: str
    source: str
    envelope_from: str | None = None
    envelope_to: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MailTemplate:
    """An editable email template: Jinja2 source for the subject, text and HTML parts."""

    name: str
    subject: str
    text: str
    html: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    version: int = 0
