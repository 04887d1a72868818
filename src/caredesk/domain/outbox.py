"""The development outbox: mail kept instead of sent, and how a kept message reads.

A desk without an SMTP server (the demo, a developer's machine) keeps every outbound
message in the database, exactly as it would have gone out, so that an admin can open it
and follow its links: the portal's sign-in link, a survey, a notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default
from html.parser import HTMLParser

# Links are followed only where a browser would: web addresses, never javascript: or data:.
_WEB_LINK = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
SHOWN_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
)


@dataclass(slots=True)
class CaughtMail:
    """One message the outbox kept: its envelope and its exact bytes (in the blob store)."""

    id: int | None
    mail_id: int | None
    envelope_from: str
    recipients: list[str]
    raw_sha256: str
    caught_at: datetime


@dataclass(frozen=True, slots=True)
class MessageView:
    """A kept message as an admin reads it."""

    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    links: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.found.extend(v for k, v in attrs if k == "href" and v)


def _web_links(candidates: list[str]) -> list[str]:
    """Each web address once, in the order met, trailing punctuation of prose left off."""
    seen: dict[str, None] = {}
    for candidate in candidates:
        match = _WEB_LINK.match(candidate.strip())
        if match:
            seen.setdefault(match.group(0).rstrip(".,;:!?"), None)
    return list(seen)


def _content(part: Message) -> str:
    if isinstance(part, EmailMessage):
        value = part.get_content()
        return value if isinstance(value, str) else ""
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def read_message(raw: bytes) -> MessageView:
    """The headers worth reading, the text and HTML parts, their links and attachment names."""
    message = message_from_bytes(raw, policy=default)
    headers = [
        (name, " ".join(str(v).split()))
        for name in SHOWN_HEADERS
        for v in message.get_all(name, [])
    ]
    text: str | None = None
    html: str | None = None
    attachments: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename or part.get_content_disposition() == "attachment":
            attachments.append(filename or "(unnamed)")
        elif part.get_content_type() == "text/plain" and text is None:
            text = _content(part)
        elif part.get_content_type() == "text/html" and html is None:
            html = _content(part)
    candidates = _WEB_LINK.findall(text or "")
    if html:
        hrefs = _Hrefs()
        hrefs.feed(html)
        candidates += hrefs.found + _WEB_LINK.findall(html)
    return MessageView(headers, text, html, _web_links(candidates), attachments)
