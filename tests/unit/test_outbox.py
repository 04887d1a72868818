"""How a kept message reads, and which transport a desk chooses by default."""

from __future__ import annotations

from email.message import EmailMessage

from caredesk.domain.outbox import read_message
from caredesk.settings import Settings


def _mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Care <support@shop.example>"
    message["To"] = "maya@example.com"
    message["Subject"] = "Your sign-in link"
    message["Message-ID"] = "<1.m7@shop.example>"
    message.set_content("Sign in: http://127.0.0.1:8000/portal/sign-in/abc_DEF-1.\nThanks.\n")
    message.add_alternative(
        '<p><a href="http://127.0.0.1:8000/portal/sign-in/abc_DEF-1">Sign in</a>'
        '<a href="javascript:alert(1)">x</a><a href="https://shop.example/help">help</a>'
        "<script>alert(2)</script></p>",
        subtype="html",
    )
    message.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="label.pdf")
    return message.as_bytes()


def test_a_kept_message_shows_its_headers_parts_web_links_and_attachments() -> None:
    view = read_message(_mail())
    assert ("Subject", "Your sign-in link") in view.headers
    assert ("To", "maya@example.com") in view.headers
    assert view.text is not None and view.text.startswith("Sign in: http://")
    assert view.html is not None and "<script>" in view.html  # shown only in a sandbox
    # Each web link once, without the sentence's full stop; never a javascript: link.
    assert view.links == [
        "http://127.0.0.1:8000/portal/sign-in/abc_DEF-1",
        "https://shop.example/help",
    ]
    assert view.attachments == ["label.pdf"]


def test_a_text_only_message_has_no_html_part() -> None:
    raw = b"Subject: hi\r\nMessage-ID: <a@b>\r\n\r\nsee https://x.example/a)\r\n"
    view = read_message(raw)
    assert view.html is None
    assert view.links == ["https://x.example/a"]


def test_a_development_desk_keeps_mail_unless_an_smtp_server_is_named() -> None:
    assert Settings().outbound_transport == "outbox"
    assert Settings(smtp_host="mail.shop.example").outbound_transport == "smtp"
    assert Settings(smtp_port=2525).outbound_transport == "smtp"
    assert Settings(mail_transport="smtp").outbound_transport == "smtp"
    assert Settings(smtp_host="mail.example", mail_transport="outbox").outbound_transport == (
        "outbox"
    )
    assert Settings(env="production").outbound_transport == "smtp"


def test_links_made_without_a_request_use_the_base_url() -> None:
    assert Settings().portal_address() == "http://127.0.0.1:8000/portal"
    assert Settings(base_url="http://127.0.0.1:8080/").portal_address() == (
        "http://127.0.0.1:8080/portal"
    )
    assert Settings(
        base_url="http://a", portal_url="https://help.shop.example/portal/"
    ).portal_address() == ("https://help.shop.example/portal")
