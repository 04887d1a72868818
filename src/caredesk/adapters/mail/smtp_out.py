"""Outbound SMTP with smtplib: one connection per worker thread, kept open between messages."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading

from caredesk.services.channels.ports import SmtpRefused
from caredesk.settings import Settings


class SmtpMailer:
    """Hands messages to the configured SMTP server (host, port, TLS, auth from Settings)."""

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.timeout = settings.smtp_timeout_seconds
        self._local = threading.local()

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "tls":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                client.starttls(context=context)
        if self.username:
            client.login(self.username, self.password or "")
        return client

    def _client(self) -> smtplib.SMTP:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        if client is None:
            client = self._connect()
            self._local.client = client
        return client

    def _drop(self) -> None:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()

    def send(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        # A kept connection may have been closed by the server meanwhile: one fresh try.
        for attempt in (1, 2):
            try:
                # Recipients refused while others took the mail come back here, not raised:
                # the mail counts as sent to those who took it.
                self._client().sendmail(envelope_from, recipients, raw)
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    raise SmtpRefused(f"the SMTP server went away: {exc}", permanent=False) from exc
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                permanent = all(code >= 500 for code in codes)
                raise SmtpRefused(
                    f"recipients refused: {_describe(exc.recipients)}",
                    permanent=permanent,
                    code=max(codes) if codes else None,
                ) from exc
            except smtplib.SMTPResponseException as exc:
                self._drop()
                raise SmtpRefused(
                    f"{exc.smtp_code} {_text(exc.smtp_error)}",
                    permanent=exc.smtp_code >= 500,
                    code=exc.smtp_code,
                ) from exc
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise SmtpRefused(f"SMTP failed: {exc}", permanent=False) from exc
            return

    def close(self) -> None:
        self._drop()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _describe(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in recipients.items())
