"""Parsing real-world-shaped mail and the threading rules, without a database."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caredesk.adapters.mail.parse import MailUnparseable, parse_mail
from caredesk.domain.mail import (
    AutoKind,
    case_from_addresses,
    case_tag,
    reply_address,
    tagged_subject,
)

CORPUS = Path(__file__).parent.parent / "data" / "mail"


def mail(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_a_plain_message_decodes_quoted_printable_utf8() -> None:
    parsed = parse_mail(mail("plain_new.eml"))
    assert parsed.message_id == "<CAF3x9=first-order-1@mail.example.net>"
    assert parsed.from_address == "maya.hart@example.net"
    assert parsed.from_name == "Maya Hart"
    assert parsed.to == ["support@shop.example"]
    assert parsed.text.endswith("Could you help? — Maya")
    assert parsed.auto is None
    assert parsed.date is not None


def test_a_gmail_reply_is_trimmed_to_what_is_new_and_names_its_thread() -> None:
    parsed = parse_mail(mail("gmail_reply.eml"))
    assert parsed.new_text == "Thank you, keeping the t-shirts is lovely."
    assert "descale" not in parsed.new_text
    assert parsed.answered_ids[0] == "<case-12.out-1@shop.example>"
    assert "<CAF3x9=first-order-1@mail.example.net>" in parsed.answered_ids
    assert case_tag(parsed.subject) == 12


def test_an_outlook_html_reply_in_windows_1252_gets_a_text_rendering() -> None:
    parsed = parse_mail(mail("outlook_html_reply.eml"))
    assert parsed.html is not None
    assert "It still does not heat. I did the descaling twice – no change." in parsed.text
    assert parsed.new_text.startswith("It still does not heat")
    assert "Please descale" not in parsed.new_text
    assert parsed.auto is None  # X-Auto-Response-Suppress is ordinary Outlook mail


def test_scripts_handlers_and_javascript_links_are_stripped() -> None:
    parsed = parse_mail(mail("html_script.eml"))
    assert parsed.html is not None
    for dangerous in ("<script", "onclick", "javascript:", "document.cookie"):
        assert dangerous not in parsed.html
    assert "<b>there</b>" in parsed.html
    assert "Hi there" in parsed.text


def test_attachments_inline_images_and_encoded_subjects() -> None:
    parsed = parse_mail(mail("attachments_latin1.eml"))
    assert parsed.subject == "Delivery date missed – invoice attached"
    assert parsed.cc == ["office@example.org"]
    by_name = {a.filename: a for a in parsed.attachments}
    assert by_name["invoice.pdf"].content.startswith(b"%PDF")
    assert by_name["invoice.pdf"].content_type == "application/pdf"
    assert by_name["label.png"].inline
    assert by_name["label.png"].content_id == "<label@example.org>"
    assert "Grüße, Dana" in parsed.text


def test_oversized_attachments_stay_out_of_the_case() -> None:
    parsed = parse_mail(mail("attachments_latin1.eml"), max_attachment_bytes=30)
    assert "invoice.pdf" not in {a.filename for a in parsed.attachments}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("auto_reply.eml", AutoKind.AUTO_REPLY),
        ("out_of_office_x.eml", AutoKind.AUTO_REPLY),
        ("bounce.eml", AutoKind.BOUNCE),
        ("mailing_list.eml", AutoKind.LIST),
        ("plain_new.eml", None),
        ("forwarded.eml", None),
    ],
)
def test_mail_that_must_never_be_answered_is_recognised(name: str, kind: AutoKind | None) -> None:
    assert parse_mail(mail(name)).auto is kind


def test_a_bounce_names_the_failed_recipient() -> None:
    assert parse_mail(mail("bounce.eml")).bounced_recipient == "no.such.user@example.com"


def test_forwarded_mail_keeps_the_forwarded_text_and_the_original_as_attachment() -> None:
    parsed = parse_mail(mail("forwarded.eml"))
    assert "S-DANA-LATE" in parsed.text
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]


def test_malformed_mime_is_read_as_far_as_it_goes() -> None:
    parsed = parse_mail(mail("malformed.eml"))
    assert parsed.message_id == "<broken-12@example.com>"
    assert parsed.from_address == "broken@example.com"


def test_header_injection_does_not_add_recipients() -> None:
    parsed = parse_mail(mail("header_injection.eml"))
    assert parsed.to == ["support@shop.example"]
    assert parsed.cc == []
    assert "\n" not in parsed.subject
    assert parsed.from_address == "eve@example.com"


def test_an_empty_message_is_refused() -> None:
    with pytest.raises(MailUnparseable):
        parse_mail(b"   ")


def test_subject_tags_and_signed_plus_addresses() -> None:
    assert case_tag("Re: [#2] You missed the delivery date") == 2
    assert case_tag("no tag here") is None
    assert tagged_subject("Re: [#2] Hello", 2) == "[#2] Re:  Hello"
    address = reply_address("support@shop.example", 42, "s3cret")
    assert address.startswith("support+c42.")
    assert case_from_addresses(["someone@else.example", address], "s3cret") == 42
    forged = address.replace("+c42.", "+c43.")
    assert case_from_addresses([forged], "s3cret") is None
    assert case_from_addresses([address], "another-secret") is None


@given(st.binary(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_any_bytes_parse_or_are_refused_cleanly(raw: bytes) -> None:
    with contextlib.suppress(MailUnparseable):
        parse_mail(raw)


@given(st.text(max_size=300), st.text(max_size=300))
@settings(max_examples=100, deadline=None)
def test_any_headers_and_body_parse_or_are_refused_cleanly(subject: str, body: str) -> None:
    raw = f"From: a@example.com\nSubject: {subject}\nContent-Type: text/html\n\n{body}".encode(
        "utf-8", "surrogatepass"
    )
    try:
        parsed = parse_mail(raw)
    except MailUnparseable:
        return
    assert parsed.html is None or "<script" not in parsed.html.lower()
