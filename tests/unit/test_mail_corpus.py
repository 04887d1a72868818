"""The wider corpus: replies from common clients, odd charsets, inline images, DSNs and
hostile headers, parsed without a database."""

from __future__ import annotations

from collections import Counter
from email.headerregistry import BaseHeader, HeaderRegistry
from pathlib import Path
from uuid import uuid4

import pytest

from caredesk.adapters.mail.parse import parse_mail
from caredesk.domain.mail import AutoKind, InboundMail, case_tag

CORPUS = Path(__file__).parent.parent / "data" / "mail"


def parsed(name: str) -> InboundMail:
    return parse_mail((CORPUS / name).read_bytes())


@pytest.mark.parametrize(
    ("name", "new_text", "answers"),
    [
        (
            "apple_mail_reply.eml",
            "The dresses arrived today – they fit perfectly.",
            "<case-12.out-1@shop.example>",
        ),
        (
            "thunderbird_reply.eml",
            "Hallo, das Paket ist immer noch nicht da. Können Sie bitte nachsehen?",
            "<case-2.out-1@shop.example>",
        ),
    ],
)
def test_replies_from_common_clients_are_trimmed_and_name_their_thread(
    name: str, new_text: str, answers: str
) -> None:
    mail = parsed(name)
    assert mail.new_text == new_text
    assert mail.answered_ids[0] == answers
    assert case_tag(mail.subject) is not None
    assert mail.auto is None


def test_an_inline_image_in_multipart_related_is_kept_with_its_content_id() -> None:
    mail = parsed("inline_image_related.eml")
    assert mail.text.startswith("The screen arrived cracked")
    assert mail.html is not None and "cid:crack@example.com" in mail.html
    (image,) = mail.attachments
    assert (image.filename, image.content_type, image.inline) == ("crack.png", "image/png", True)
    assert image.content_id == "<crack@example.com>"
    assert image.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("name", "subject", "sender_name", "text"),
    [
        ("iso2022jp.eml", "配送について", "山田 花子", "注文した商品がまだ届きません。"),
        ("koi8r.eml", "Повреждённый заказ", "Ivan Petrov", "Заказ пришёл повреждённым."),
        ("lying_charset.eml", "Rückgabe", "Zoë Brandt", "Ich möchte die Jacke zurückgeben"),
    ],
)
def test_odd_and_lying_charsets_decode(
    name: str, subject: str, sender_name: str, text: str
) -> None:
    mail = parsed(name)
    assert mail.subject == subject
    assert mail.from_name == sender_name
    assert text in mail.text


def test_a_dsn_with_the_returned_message_names_our_message_id_and_the_recipient() -> None:
    mail = parsed("dsn_returned_message.eml")
    assert mail.auto is AutoKind.BOUNCE
    assert mail.bounced_message_id == "<returned-out-7@shop.example>"
    assert mail.bounced_recipient == "gone@example.org"
    # The report's machine-readable parts are not attachments; the returned message is.
    assert [a.content_type for a in mail.attachments] == ["message/rfc822"]


def test_line_breaks_smuggled_in_encoded_words_never_reach_a_header() -> None:
    mail = parsed("encoded_subject_injection.eml")
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert "\n" not in mail.from_name and "\r" not in mail.from_name
    assert mail.from_address == "eve@example.com"
    assert mail.recipients == ["support@shop.example"]


def test_a_message_without_a_sender_parses_with_no_sender() -> None:
    mail = parsed("no_from.eml")
    assert mail.from_address is None
    assert mail.text == "A message without a sender."


def test_broken_base64_in_an_attachment_does_not_lose_the_message() -> None:
    mail = parsed("bad_base64_attachment.eml")
    assert mail.text.startswith("Invoice attached")
    assert [a.filename for a in mail.attachments] == ["invoice.pdf"]


def test_nul_characters_are_dropped_so_every_database_can_store_the_text() -> None:
    mail = parse_mail(b"From: a@b.example\r\nSubject: x\x00y\r\n\r\nbody\x00with nul\r\n")
    assert (mail.subject, mail.text) == ("xy", "bodywith nul")


def test_oversized_attachments_are_dropped_and_the_text_kept() -> None:
    big = b"A" * 4096
    raw = (
        b"From: a@b.example\r\nTo: support@shop.example\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n'
        b"\r\nsee attached\r\n--B\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="big.bin"\r\n\r\n' + big + b"\r\n--B--\r\n"
    )
    assert [a.filename for a in parse_mail(raw).attachments] == ["big.bin"]
    kept = parse_mail(raw, max_attachment_bytes=1024)
    assert kept.attachments == []
    assert kept.text == "see attached"


def _built_of_parts(run: str) -> bytes:
    """A message with a text, an HTML and an attached part, its Content-Types this run's own."""
    return f"""From: Ada Byron <ada@example.net>
To: support@shop.example
Subject: The kettle leaks
Message-ID: <{run}@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer-{run}"

--outer-{run}
Content-Type: multipart/alternative; boundary="inner-{run}"

--inner-{run}
Content-Type: text/plain; charset="utf-8"; x-run="{run}"

The kettle leaks all over the table.
--inner-{run}
Content-Type: text/html; charset="utf-8"; x-run="{run}"

<p>The kettle leaks all over the table.</p>
--inner-{run}--
--outer-{run}
Content-Type: image/png; name="leak.png"; x-run="{run}"
Content-Disposition: attachment; filename="leak.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--outer-{run}--
""".replace("\n", "\r\n").encode()


def test_a_structure_header_is_parsed_once_per_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding a message's body and parts reads its Content-Types again and again; each value
    is parsed once, and the next message with the same values parses none of them."""
    raw = _built_of_parts(uuid4().hex)
    built: Counter[str] = Counter()
    build = HeaderRegistry.__call__

    def counting(registry: HeaderRegistry, name: str, value: str) -> BaseHeader:
        built[name.lower()] += 1
        return build(registry, name, value)

    monkeypatch.setattr(HeaderRegistry, "__call__", counting)
    mail = parse_mail(raw)
    assert mail.text == "The kettle leaks all over the table."
    assert [(a.filename, a.content_type, a.content) for a in mail.attachments] == [
        ("leak.png", "image/png", b"\x89PNG\r\n\x1a\n")
    ]
    assert built["content-type"] == 5, "the five parts' five values"
    built.clear()
    assert parse_mail(raw) == mail
    assert built["content-type"] == 0
