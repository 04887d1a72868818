"""The portal's mail through the durable queue: sign-in links, and surveys on a timer."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from caredesk.services.channels import mail_out, portal
from caredesk.services.core.jobs import HandlerRegistry, JobContext
from caredesk.services.core.ports import UnitOfWork

log = logging.getLogger("caredesk.portal")
SURVEY_TIMER = "csat.surveys"
SURVEY_EVERY = timedelta(minutes=5)


class QueuedCustomerMailer:
    """Writes the mail and its `mail.send` job in the caller's unit of work (the outbox), so
    a sign-in link or a survey leaves exactly when the change that made it commits."""

    def send(self, uow: UnitOfWork, mail: portal.CustomerMail, now: datetime) -> None:
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


def send_surveys(ctx: JobContext) -> None:
    """The survey timer: every case solved lately gets its survey once."""
    sent = portal.send_due_surveys(
        ctx.uow,
        QueuedCustomerMailer(),
        ctx.clock.now(),
        # The worker has no request to take an address from: the configured one it is.
        link_for=portal.survey_links(ctx.settings.portal_address()),
        valid_for=timedelta(days=ctx.settings.csat_survey_days),
    )
    if sent:
        log.info("sent %d satisfaction surveys", sent)


def register_portal(registry: HandlerRegistry) -> None:
    """The portal's timers; `bootstrap.wire_jobs` calls this."""
    registry.register_timer(SURVEY_TIMER, SURVEY_EVERY, send_surveys)
