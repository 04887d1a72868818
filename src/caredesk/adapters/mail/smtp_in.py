"""The SMTP listener (aiosmtpd): mail for our domains goes into cases; refusals get SMTP codes.

Intake into the database runs in worker threads so the listener keeps answering while a
message is stored; with SQLite one thread writes at a time (the database allows one writer).
Codes: 550 5.7.1 for a recipient domain we do not serve (we are no relay), 552 for a message
over the size limit (aiosmtpd answers it), 451 4.7.1 when a sender is over its hourly limit
and 451 4.3.0 on an unexpected failure (the sending server keeps the message and retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from caredesk.services.channels.mail_in import Envelope as MailEnvelope
from caredesk.services.channels.mail_in import IntakeResult, Outcome

log = logging.getLogger("caredesk.smtp")

Deliver = Callable[[bytes, MailEnvelope], IntakeResult]


class DeskHandler:
    """aiosmtpd handler: accept recipients in our domains, store each message on a case."""

    def __init__(self, deliver: Deliver, domains: list[str], workers: int = 1) -> None:
        self.deliver = deliver
        self.domains = {d.lower().strip() for d in domains if d.strip()}
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtp-in")

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        domain = address.rpartition("@")[2].lower().rstrip(">")
        if domain not in self.domains:
            return f"550 5.7.1 <{address}>: we do not accept mail for this domain"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if not isinstance(raw, bytes):
            return "554 5.6.0 no message content"
        mail_envelope = MailEnvelope(
            mail_from=envelope.mail_from or None, rcpt_to=list(envelope.rcpt_tos), source="smtp"
        )
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.executor, self.deliver, raw, mail_envelope)
        except Exception:
            log.exception("inbound mail could not be stored")
            return "451 4.3.0 temporary failure storing the message; try again later"
        if result.outcome is Outcome.DEFERRED:
            return "451 4.7.1 too many messages from this sender; try again later"
        reference = f" case {result.case_id}" if result.case_id is not None else ""
        return f"250 2.0.0 OK {result.outcome.value}{reference}"

    def close(self) -> None:
        self.executor.shutdown(wait=True)


class SmtpListener:
    """Runs the listener in a background thread (aiosmtpd's Controller); `stop()` ends it."""

    def __init__(
        self,
        deliver: Deliver,
        *,
        host: str,
        port: int,
        domains: list[str],
        max_message_bytes: int,
        workers: int = 1,
        server_hostname: str | None = None,
    ) -> None:
        self.handler = DeskHandler(deliver, domains, workers)
        kwargs: dict[str, Any] = {
            "data_size_limit": max_message_bytes,
            "enable_SMTPUTF8": True,
            # The hostname in our greeting; without it aiosmtpd would look up the FQDN.
            "server_hostname": server_hostname or host,
        }
        self.controller = Controller(self.handler, hostname=host, port=port, **kwargs)

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
        self.handler.close()
