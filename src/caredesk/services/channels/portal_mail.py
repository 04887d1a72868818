"""The portal's mail through the durable queue: sign-in links, and surveys on a timer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from caredesk.services.channels import mail_out, portal
from caredesk.services.channels.unit import PortalUnit
from caredesk.services.core.jobs import HandlerRegistry, JobContext

log = logging.getLogger("caredesk.portal")
SURVEY_TIMER = "satisfaction.surveys"
SURVEY_EVERY = timedelta(minutes=5)


class QueuedCustomerMailer:
    """Writes the mail and its `mail.send` job in the caller's unit of work (the outbox), so
    a sign-in link or a survey leaves exactly when the change that made it commits."""

    def send(self, uow: PortalUnit, mail: portal.CustomerMail, now: datetime) -> None:
        mail_out.send_customer_mail(
            uow,
            to=mail.to,
            subject=mail.subject,
            text=mail.text,
            now=now,
            case_id=mail.case_id,
            template=mail.template,
            context={"link": mail.link, "customer_name": mail.customer_name},
        )


@dataclass(frozen=True, slots=True)
class SurveyOptions:
    """Where survey links point and how long they work, bound once by bootstrap."""

    # The worker has no request to take an address from: the configured one it is.
    portal_address: str
    valid_for: timedelta


def send_surveys(ctx: JobContext, options: SurveyOptions) -> None:
    """The survey timer: every case solved lately gets its survey once."""
    sent = portal.send_due_surveys(
        ctx.uow,
        QueuedCustomerMailer(),
        ctx.clock.now(),
        link_for=portal.survey_links(options.portal_address),
        valid_for=options.valid_for,
    )
    if sent:
        log.info("sent %d satisfaction surveys", sent)


def register_portal(registry: HandlerRegistry, surveys: SurveyOptions) -> None:
    """The portal's timers; `bootstrap.wire_jobs` calls this."""
    registry.register_timer(SURVEY_TIMER, SURVEY_EVERY, lambda ctx: send_surveys(ctx, surveys))
