"""`caredesk reports …`: the weekly summary sent now; every case's report facts worked out
again."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.progress import Progress

from caredesk.cli.common import desk, err, out, print_rows

app = typer.Typer(
    help="Reports: the weekly summary by mail; every case's facts worked out again.",
    no_args_is_help=True,
)


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
    from caredesk.services.reports import weekly as summary

    if not send_now:
        out.print(
            "Nothing to do: the worker mails the summary on Mondays; --send-now sends it now."
        )
        return
    with desk() as container:
        now = container.clock.now()
        sent = summary.send_now(container.uow, now, weekly_options(container.settings), lead)
        print_rows((s.email, s.monday - timedelta(days=7), f"mail {s.mail_id}") for s in sent)
        many = "summary" if len(sent) == 1 else "summaries"
        out.print(f"[green]{len(sent)} weekly {many} queued[/green]")


@app.command("refresh")
def refresh() -> None:
    """Work every case's report facts out again from its messages, trail and clocks.

    The desk keeps them current as cases change; this is for after a business calendar's
    hours were corrected, whose new hours the reports then count for every case.
    """
    from caredesk.bootstrap import refresh_case_facts

    with desk() as container, Progress(console=err, transient=True) as progress:
        bar = progress.add_task("working out each case's facts", total=None)
        cases, changed = refresh_case_facts(
            container, lambda done, total: progress.update(bar, completed=done, total=total)
        )
    out.print(f"[green]{cases} cases worked out, {changed} changed[/green]")
