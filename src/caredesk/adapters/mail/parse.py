"""Parse a raw RFC 5322 message (untrusted input) into an InboundMail.

The standard library's `email` package with the default policy decodes every charset and
transfer encoding; HTML is sanitised with nh3 and rendered to text when there is no text
part; quoted replies are trimmed with mail-parser-reply so the case shows what is new.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import re
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy, default
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from typing import Any

import nh3
from mailparser_reply import EmailReplyParser

from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.mail import AutoKind, InboundMail, MailAttachment

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_REPLY_PARSER = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "pl", "sv"])
_BLOCKS = re.compile(r"</?(p|div|br|tr|li|h[1-6]|blockquote|table)[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


# The headers that say how a message is built. Finding one message's body and parts reads its
# Content-Type about twenty times, and the policy parses it anew each time (three quarters of
# the parse was that); the same few values come in message after message. A parsed header is
# an immutable string, so each value is parsed once and shared.
_STRUCTURE_HEADERS = frozenset(
    {"content-type", "content-transfer-encoding", "content-disposition", "mime-version"}
)


@lru_cache(maxsize=1024)
def _parsed_header(name: str, value: str) -> Any:
    return default.header_fetch_parse(name, value)


class _StructureKept(EmailPolicy):
    """The default policy, which keeps what it parsed of the structure headers."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if isinstance(value, str) and name.lower() in _STRUCTURE_HEADERS:
            return _parsed_header(name, value)
        return super().header_fetch_parse(name, value)


POLICY = _StructureKept()


class MailUnparseable(DomainError):
    code = ErrorCode.VALIDATION_ERROR


def _ids(value: str | None) -> list[str]:
    return MESSAGE_ID.findall(value or "")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _raw_values(message: EmailMessage, header: str) -> list[str]:
    """A header's values with encoded words decoded, without the policy's strict parsing.

    The strict parser refuses a display name that decodes to a line break (a header
    injection attempt); such mail is still a customer's mail, so names are decoded here and
    their control characters dropped instead.
    """
    values = []
    for name, value in message.raw_items():
        if name.lower() != header.lower():
            continue
        text = _unescape(str(value))
        with contextlib.suppress(LookupError, ValueError, UnicodeError):
            text = str(make_header(decode_header(text)))
        values.append(_CONTROL.sub(" ", text))
    return values


def _unescape(text: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes: read them as UTF-8, else cp1252."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _storable(text: str) -> str:
    """No NUL (PostgreSQL text cannot hold it) and no lone surrogates (nothing can encode them)."""
    return _unescape(text).replace("\x00", "")


def _addresses(message: EmailMessage, header: str) -> list[str]:
    return [
        addr.strip().lower()
        for _, addr in getaddresses(_raw_values(message, header))
        if "@" in addr and not any(c.isspace() for c in addr.strip())
    ]


def html_to_text(markup: str) -> str:
    text = _BLOCKS.sub("\n", markup)
    text = _TAGS.sub("", text)
    text = html_lib.unescape(text)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def sanitise_html(markup: str) -> str:
    """Keep formatting; drop scripts, handlers, styles and remote content."""
    return nh3.clean(markup, url_schemes={"http", "https", "mailto", "cid"})


def _auto_kind(message: EmailMessage, sender: str | None) -> AutoKind | None:
    content_type = message.get_content_type()
    report = str(message.get_param("report-type", "", header="content-type") or "")
    return_path = str(message.get("Return-Path", "")).strip()
    if content_type == "multipart/report" and report.lower() == "delivery-status":
        return AutoKind.BOUNCE
    if sender and sender.split("@")[0].lower() in ("mailer-daemon", "postmaster"):
        return AutoKind.BOUNCE
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return AutoKind.AUTO_REPLY
    # X-Auto-Response-Suppress is not among these: Outlook sets it on ordinary mail.
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return AutoKind.AUTO_REPLY
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return AutoKind.LIST if precedence in ("bulk", "list") else AutoKind.AUTO_REPLY
    if message.get("List-Id") or message.get("List-Unsubscribe"):
        return AutoKind.LIST
    if return_path == "<>":
        return AutoKind.AUTO_REPLY
    return None


def _bounced_recipient(message: EmailMessage) -> str | None:
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else [part]
            for block in blocks:
                if isinstance(block, str):
                    continue
                for header in ("Final-Recipient", "Original-Recipient"):
                    value = str(block.get(header, ""))
                    if ";" in value:
                        return value.split(";", 1)[1].strip().lower()
    return None


def _bounced_message_id(message: EmailMessage) -> str | None:
    """The Message-ID in a DSN's returned headers or returned message, if any."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                returned = message_from_bytes(payload, policy=POLICY)
                found = _ids(str(returned.get("Message-ID", "")))
                if found:
                    return found[0]
        elif kind == "message/rfc822":
            inner = part.get_payload()
            returned_parts = inner if isinstance(inner, list) else [inner]
            for returned_part in returned_parts:
                if isinstance(returned_part, EmailMessage):
                    found = _ids(str(returned_part.get("Message-ID", "")))
                    if found:
                        return found[0]
    return None


def _leaves(part: MIMEPart) -> list[MIMEPart]:
    """Every non-container part; an attached message stays whole, as one attachment."""
    if part.get_content_type() in ("message/delivery-status", "text/rfc822-headers"):
        return []
    if part.is_multipart() and part.get_content_type() != "message/rfc822":
        payload = part.get_payload()
        children = payload if isinstance(payload, list) else []
        return [
            leaf for child in children if isinstance(child, MIMEPart) for leaf in _leaves(child)
        ]
    if part.get_content_type() in ("message/delivery-status", "text/rfc822-headers"):
        return []
    return [part]


def _text_of(part: MIMEPart) -> str:
    """A text part's content; an unknown or lying charset falls back to lenient UTF-8."""
    charset = (part.get_content_charset() or "us-ascii").lower()
    if charset in ("us-ascii", "ascii"):
        # Mail that says ASCII but carries 8-bit text is nearly always UTF-8 (else cp1252).
        raw = part.get_payload(decode=True)
        if isinstance(raw, bytes) and not raw.isascii():
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("cp1252", "replace")
    try:
        content = part.get_content()
        return content if isinstance(content, str) else ""
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _attachment(part: MIMEPart) -> MailAttachment:
    if part.get_content_type() == "message/rfc822":
        content = (
            part.as_bytes()
            if not part.is_multipart()
            else b"".join(p.as_bytes() for p in part.get_payload() if isinstance(p, EmailMessage))
        )
    else:
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
    return MailAttachment(
        filename=_storable(part.get_filename() or "attachment"),
        content_type=part.get_content_type(),
        content=content,
        inline=part.get_content_disposition() == "inline",
        content_id=str(part.get("Content-ID")) if part.get("Content-ID") else None,
    )


def parse_mail(raw: bytes, *, max_attachment_bytes: int = 25 * 1_048_576) -> InboundMail:
    if not raw.strip():
        raise MailUnparseable("the message is empty")
    try:
        message = message_from_bytes(raw, policy=POLICY)
        assert isinstance(message, EmailMessage)
        senders = getaddresses(_raw_values(message, "From"))
        from_name, from_address = next(
            ((name, addr.strip()) for name, addr in senders if "@" in addr), ("", "")
        )
        if any(c.isspace() for c in from_address):
            from_address = ""
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        text = _text_of(text_part) if text_part is not None else ""
        html = _text_of(html_part) if html_part is not None else None
        bodies = {id(p) for p in (text_part, html_part) if p is not None}
        attachments = [
            attachment
            for part in _leaves(message)
            if id(part) not in bodies
            for attachment in [_attachment(part)]
            if len(attachment.content) <= max_attachment_bytes
        ]
        subject = " ".join(_storable(str(message.get("Subject", "") or "")).split())
        date = None
        if message.get("Date"):
            try:
                date = parsedate_to_datetime(str(message["Date"]))
            except (TypeError, ValueError):
                date = None
    except (LookupError, ValueError, TypeError, AssertionError, IndexError) as exc:
        raise MailUnparseable(f"the message cannot be parsed: {exc}") from exc
    safe_html = sanitise_html(_storable(html)) if html else None
    if not text and safe_html:
        text = html_to_text(safe_html)
    text = _storable(text).replace("\r\n", "\n").strip()
    new_text = (_REPLY_PARSER.read(text).latest_reply or text).strip() if text else ""
    sender = from_address.lower() or None
    auto = _auto_kind(message, sender)
    return InboundMail(
        message_id=next(iter(_ids(str(message.get("Message-ID", "")))), None),
        subject=subject.strip()[:500],
        from_address=sender,
        from_name=from_name.strip(),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        in_reply_to=_ids(str(message.get("In-Reply-To", ""))),
        references=_ids(str(message.get("References", ""))),
        date=date,
        text=text,
        new_text=new_text,
        html=safe_html,
        attachments=attachments,
        auto=auto,
        bounced_recipient=_bounced_recipient(message),
        bounced_message_id=_bounced_message_id(message) if auto is AutoKind.BOUNCE else None,
    )
