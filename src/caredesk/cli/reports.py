"""`caredesk reports …`: the weekly summary sent now."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from caredesk.cli.common import desk, out, print_rows

app = typer.Typer(help="Reports: the weekly summary by mail.", no_args_is_help=True)


@app.command("weekly")
def weekly(
    send_now: Annotated[
        bool, typer.Option("--send-now", help="Queue the summary of last week now.")
    ] = False,
    lead: Annotated[
        str | None, typer.Option("--lead", help="Only this lead or admin (by email).")
    ] = None,
) -> None:
    """Queue the weekly summary of last week now: to every lead who asked for it, or to one."""
    from caredesk.bootstrap import weekly_options
    from caredesk.domain.errors import NotFound
    from caredesk.services.reports import weekly as summary

    if not send_now:
        out.print(
            "Nothing to do: the worker mails the summary on Mondays; --send-now sends it now."
        )
        return
    with desk() as container:
        options = weekly_options(container.settings)
        now = container.clock.now()
        with container.uow() as uow:
            if lead is None:
                leads = summary.opted_in(uow)
            else:
                found = uow.agents.get_by_email(lead)
                if found is None:
                    raise NotFound("agent", lead)
                leads = [found]
        rows = []
        for agent in leads:
            monday = summary.monday_of(agent, now, options.desk_zone)
            mail_id = summary.mail_summary(container.uow, now, agent, monday, options, again=True)
            rows.append((agent.email, f"{monday - timedelta(days=7)}", f"mail {mail_id}"))
        print_rows(rows)
        out.print(
            f"[green]{len(rows)} weekly summar{'y' if len(rows) == 1 else 'ies'} queued[/green]"
        )
