"""Builds the mail intake the entry points share (SMTP listener, webhook, import)."""

from __future__ import annotations

from functools import partial

from caredesk.adapters.mail.parse import parse_mail
from caredesk.services.channels.mail_in import MailConfig, MailIntake
from caredesk.services.core.ports import Clock, UnitOfWorkFactory
from caredesk.settings import Settings


def build_intake(uow: UnitOfWorkFactory, clock: Clock, settings: Settings) -> MailIntake:
    return MailIntake(
        uow=uow,
        clock=clock,
        config=MailConfig.of(settings),
        parser=partial(parse_mail, max_attachment_bytes=settings.max_attachment_bytes),
    )


def accepted_domains(settings: Settings) -> list[str]:
    """The recipient domains the listener accepts: configured, else the support mailbox's."""
    if settings.mail_domains:
        return [d.lower() for d in settings.mail_domains]
    return [settings.mail_address.rpartition("@")[2].lower()]
