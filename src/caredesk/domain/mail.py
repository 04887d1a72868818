"""Email as the desk sees it: a parsed inbound message, and the rules of threading.

Threading never splits a conversation nor merges two: a reply is matched by the Message-IDs
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
