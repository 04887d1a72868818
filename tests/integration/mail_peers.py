"""Real SMTP peers for mail tests: a local sink that records (or refuses) what it is sent."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    # A reply to give instead of accepting, such as "451 4.3.0 busy" or "550 5.1.1 no user".
    refuse_with: str | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_with:
            return self.refuse_with
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        return "250 OK"


class SmtpSink:
    def __init__(self) -> None:
        self.handler = SinkHandler()
        self.port = free_port()
        kwargs: dict[str, Any] = {"server_hostname": "sink.test"}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
