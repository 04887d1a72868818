"""`caredesk portal`: hand out a sign-in link, send the satisfaction surveys now."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from caredesk.cli.common import as_desk, desk, out

app = typer.Typer(help="The customer portal.", no_args_is_help=True)


@app.command("link")
def link(
    email: Annotated[str, typer.Argument(help="The customer's email address.")],
    url: Annotated[
        str | None,
        typer.Option(
            help="The portal's public address (else CAREDESK_PORTAL_URL, else "
            "CAREDESK_BASE_URL + /portal)."
        ),
    ] = None,
) -> None:
    """Print a single-use sign-in link for a customer instead of mailing it (audited)."""
    from caredesk.services.channels import portal

    with desk() as container:
        base = (url or container.settings.portal_address()).rstrip("/")
        issued = as_desk(
            container,
            portal.issue_link,
            email=email,
            link_for=lambda secret: f"{base}/sign-in/{secret}",
            ttl=timedelta(seconds=container.settings.portal_link_ttl_seconds),
        )
        out.print(issued, soft_wrap=True)


@app.command("send-surveys")
def send_surveys(
    days: Annotated[int, typer.Option(min=1, help="Cases solved within this many days.")] = 7,
) -> None:
    """Queue the satisfaction survey of every recently solved case that has none yet."""
    from caredesk.services.channels import portal
    from caredesk.services.channels.portal_mail import QueuedCustomerMailer

    with desk() as container:
        settings = container.settings
        sent = portal.send_due_surveys(
            container.uow,
            QueuedCustomerMailer(),
            container.clock.now(),
            link_for=portal.survey_links(settings.portal_address()),
            valid_for=timedelta(days=settings.satisfaction_survey_days),
            solved_within=timedelta(days=days),
        )
        out.print(f"{sent} surveys queued")
