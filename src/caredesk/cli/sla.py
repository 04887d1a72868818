"""`caredesk sla …` and `caredesk webhooks …`: SLA data, the warning scan, and webhooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from caredesk.cli.common import as_desk, desk, out, print_rows, run_on_desk
from caredesk.domain.agents import SYSTEM

if TYPE_CHECKING:
    from caredesk.domain.calendars import BusinessCalendar
    from caredesk.domain.sla import SlaPolicy

app = typer.Typer(help="SLA policies, business calendars and case clocks.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhooks out: subscriptions and deliveries.", no_args_is_help=True)


@app.command("calendars")
def calendars() -> None:
    """List business calendars."""
    from caredesk.services.sla import sla

    with desk() as container:
        found = sla.list_calendars(container.uow(), SYSTEM)
        print_rows(
            (c.id, c.name, c.timezone, _hours(c), f"{len(c.holidays)} holiday(s)") for c in found
        )


def _hours(calendar: BusinessCalendar) -> str:
    return ", ".join(f"{day} {' '.join(spans)}" for day, spans in calendar.hours.items() if spans)


@app.command("add-calendar")
def add_calendar(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help='JSON: {"name", "timezone", "hours": {"mon": ["09:00-17:00"]}, "holidays"}',
        ),
    ],
) -> None:
    """Create a business calendar from a JSON file."""
    from caredesk.services.sla import sla

    data = json.loads(file.read_text(encoding="utf-8"))
    calendar = run_on_desk(
        sla.create_calendar,
        name=data.get("name", ""),
        timezone=data.get("timezone", ""),
        hours=data.get("hours", {}),
        holidays=data.get("holidays", []),
    )
    out.print(f"calendar {calendar.id} {calendar.name} created")


@app.command("policies")
def policies() -> None:
    """List SLA policies in the order they are tried."""
    from caredesk.services.sla import sla

    with desk() as container:
        found = sla.list_policies(container.uow(), SYSTEM)
        print_rows((p.id, p.position, p.name, _targets(p), _state(p.active)) for p in found)


def _targets(policy: SlaPolicy) -> str:
    return " ".join(f"{metric.value}={minutes}m" for metric, minutes in policy.targets.items())


def _state(active: bool) -> str:
    return "active" if active else "inactive"


@app.command("add-policy")
def add_policy(
    name: Annotated[str, typer.Option(help="Unique name (routing rules refer to it).")],
    first_reply: Annotated[int | None, typer.Option(help="Minutes to the first reply.")] = None,
    next_reply: Annotated[int | None, typer.Option(help="Minutes to each next reply.")] = None,
    resolution: Annotated[int | None, typer.Option(help="Minutes to resolution.")] = None,
    calendar: Annotated[
        int | None, typer.Option(help="Count in this calendar's hours (else calendar time).")
    ] = None,
    warn_percent: Annotated[int, typer.Option(help="Warn at this share of a target.")] = 75,
    tier: Annotated[list[str] | None, typer.Option(help="Customer tier (repeatable).")] = None,
    priority: Annotated[list[str] | None, typer.Option(help="Case priority (repeatable).")] = None,
    position: Annotated[int, typer.Option(help="Lower is tried first.")] = 100,
) -> None:
    """Create an SLA policy."""
    from caredesk.services.sla import sla

    targets = {
        k: v
        for k, v in (
            ("first_reply", first_reply),
            ("next_reply", next_reply),
            ("resolution", resolution),
        )
        if v is not None
    }
    policy = run_on_desk(
        sla.create_policy,
        name=name,
        targets=targets,
        calendar_id=calendar,
        warn_percent=warn_percent,
        match={"tiers": tier or [], "priorities": priority or []},
        position=position,
    )
    out.print(f"SLA policy {policy.id} {policy.name} created")


@app.command("show")
def show(case_id: Annotated[int, typer.Argument(help="The case.")]) -> None:
    """A case's SLA: its policy and each clock's status and due time."""
    from caredesk.services.sla import sla

    with desk() as container:
        view = sla.case_sla(container.uow(), SYSTEM, case_id, container.clock.now())
        out.print(f"policy: {view.policy.name if view.policy else '(none)'}")
        for c in view.clocks:
            due = c.due_at.isoformat() if c.due_at else "-"
            breached = f" breached at {c.breached_at.isoformat()}" if c.breached_at else ""
            out.print(f"{c.metric.value}#{c.cycle}\t{c.status.value}\tdue {due}{breached}")


@app.command("scan")
def scan() -> None:
    """Record the SLA warnings and breaches that came due (the worker does this every minute)."""
    from caredesk.services.sla import sla

    with desk() as container:
        out.print(f"{sla.scan(container.job_context())} warning(s) and breach(es) recorded")


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Option(help="The receiver (http or https).")],
    event: Annotated[list[str], typer.Option(help="Event or pattern, e.g. 'case.*' (repeatable).")],
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Subscribe a URL to events; prints the signing secret once, on the last line."""
    from caredesk.services.channels import webhooks

    with desk() as container:
        created = as_desk(
            container,
            webhooks.create_subscription,
            url=url,
            events=event,
            description=description,
            outbound=container.outbound,
        )
        out.print(f"webhook {created.subscription.id} created; its signing secret:")
        print(created.secret)


@webhooks_app.command("list")
def webhooks_list() -> None:
    """List webhook subscriptions."""
    from caredesk.services.channels import webhooks

    with desk() as container:
        print_rows(
            (s.id, s.url, ",".join(s.events), "active" if s.active else "paused")
            for s in webhooks.list_subscriptions(container.uow(), SYSTEM)
        )


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook_id: Annotated[int, typer.Argument()],
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """The latest deliveries of a subscription and how each went."""
    from caredesk.services.channels import webhooks

    with desk() as container:
        print_rows(
            (
                d.id,
                d.event,
                d.status.value,
                f"{d.attempts} tries",
                d.response_status if d.response_status is not None else "-",
                d.last_error or "",
            )
            for d in webhooks.list_deliveries(container.uow(), SYSTEM, webhook_id, limit, None)
        )
