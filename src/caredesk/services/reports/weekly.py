"""The weekly summary by mail: each lead who asked for it gets, on Monday at 07:00 in their
time zone, last week's figures against the week before, read from the same measures as the
reports, rendered from the editable `weekly_summary` template and sent through the outbox.

A timer enqueues one job per lead and week under the key (lead, week), so a second run of the
timer queues nothing more; the job records the mailing in the audit trail (entity
`weekly_summary`, id `lead:week`) in the transaction that queues the mail, and a second
delivery of the job that finds it there sends nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlencode

from caredesk.domain.agents import SYSTEM, Agent, Permission
from caredesk.domain.calendars import zone
from caredesk.domain.errors import ValidationFailed, must_exist
from caredesk.services.channels import mail_out
from caredesk.services.channels.unit import OutboundMailUnit
from caredesk.services.core import jobs
from caredesk.services.core.changes import publish_change
from caredesk.services.core.jobs import HandlerRegistry, JobContext
from caredesk.services.core.ports import HasAudit
from caredesk.services.reports.filters import ReportFilter
from caredesk.services.reports.reports import Report, report
from caredesk.services.reports.unit import ReportsUnit

WEEKLY_TIMER = "reports.weekly"
WEEKLY_JOB = "reports.weekly_summary"
TEMPLATE = "weekly_summary"
# The timer looks every quarter hour; a lead's summary is due from Monday 07:00 in their zone
# and queued until the end of that Monday (a worker down all Monday skips that week).
WEEKLY_EVERY = timedelta(minutes=15)
SEND_AT = time(7)
CATCH_UP = timedelta(days=1)
TARGETS = ("first_reply", "next_reply", "resolution")


class WeeklyUnit(ReportsUnit, OutboundMailUnit, HasAudit, Protocol):
    """The reports' queries, and the outbox the summary leaves by."""


@dataclass(frozen=True, slots=True)
class WeeklyOptions:
    """Bound once by bootstrap: the desk's address for links, its zone and its name."""

    base_url: str
    desk_zone: str
    desk_name: str


@dataclass(frozen=True, slots=True)
class Week:
    """A week's figures, or `cases` 0 and nothing else when no case was opened in it."""

    filters: ReportFilter
    cases: int
    solved: int = 0
    first_reply_median: float | None = None
    resolution_median: float | None = None
    sla_share_met: dict[str, float | None] | None = None
    share_positive: float | None = None
    responses: int = 0
    grants: dict[str, tuple[int, Decimal]] | None = None


def monday_of(agent: Agent, now: datetime, desk_zone: str) -> date:
    """The Monday of the week `now` falls in, in the agent's zone (else the desk's)."""
    local = now.astimezone(zone(agent.time_zone or desk_zone)).date()
    return local - timedelta(days=local.weekday())


def periods(monday: date) -> tuple[ReportFilter, ReportFilter]:
    """The seven days before `monday` and the seven before those (days the cases were
    opened, as every report counts them)."""
    last = ReportFilter(start=monday - timedelta(days=7), end=monday - timedelta(days=1))
    before = ReportFilter(start=monday - timedelta(days=14), end=monday - timedelta(days=8))
    return last, before


def _single(found: Report) -> dict[str, Any]:
    return dict(found.figures[0].values) if found.figures else {}


def measure_week(
    units: Callable[[], ReportsUnit], lead: Agent, now: datetime, filters: ReportFilter
) -> Week:
    """The week's figures as the reports give them to this lead."""
    actor = lead.actor()

    def read(name: str, group_by: str | None = None) -> Report:
        return report(units(), actor, now, name, filters, group_by)

    opened = read("cases_opened")
    if opened.cases == 0:
        return Week(filters, 0)
    sla = _single(read("sla_attainment"))
    satisfaction = _single(read("satisfaction"))
    grants = {
        str(f.group): (int(f.values["grants"] or 0), Decimal(str(f.values["cost"] or 0)))
        for f in read("grants", "remedy").figures or []
    }
    return Week(
        filters,
        opened.cases,
        solved=int(_single(read("cases_solved")).get("value") or 0),
        first_reply_median=_single(read("first_reply_time")).get("median_hours"),
        resolution_median=_single(read("resolution_time")).get("median_hours"),
        sla_share_met={t: sla.get(f"{t}_share_met") for t in TARGETS if f"{t}_decided" in sla},
        share_positive=satisfaction.get("share_positive"),
        responses=int(satisfaction.get("answered") or 0),
        grants=grants,
    )


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def _rows(last: Week, before: Week) -> list[dict[str, str]]:
    def row(label: str, pick: Callable[[Week], str]) -> dict[str, str]:
        return {"label": label, "last": pick(last), "before": pick(before) if before.cases else "-"}

    rows = [
        row("Cases opened", lambda w: str(w.cases)),
        row("Cases solved", lambda w: str(w.solved)),
        row("Median first reply", lambda w: _hours(w.first_reply_median)),
        row("Median resolution", lambda w: _hours(w.resolution_median)),
    ]
    for target in TARGETS:
        if last.sla_share_met and target in last.sla_share_met:
            label = f"SLA met, {target.replace('_', ' ')}"
            rows.append(row(label, _sla_share(target)))
    rows.append(row("Satisfaction (share positive)", lambda w: _share(w.share_positive)))
    rows.append(row("Survey responses", lambda w: str(w.responses)))
    return rows


def _sla_share(target: str) -> Callable[[Week], str]:
    return lambda week: _share((week.sla_share_met or {}).get(target))


def _grant_rows(last: Week, before: Week) -> list[dict[str, str]]:
    remedies = sorted(set(last.grants or {}) | set(before.grants or {}))
    zero = (0, Decimal("0.00"))
    return [
        {
            "remedy": remedy,
            "grants": str((last.grants or {}).get(remedy, zero)[0]),
            "cost": f"{(last.grants or {}).get(remedy, zero)[1]:.2f}",
            "before_grants": str((before.grants or {}).get(remedy, zero)[0]),
            "before_cost": f"{(before.grants or {}).get(remedy, zero)[1]:.2f}",
        }
        for remedy in remedies
    ]


def summary_context(
    lead: Agent, last: Week, before: Week, options: WeeklyOptions
) -> dict[str, Any]:
    """What the `weekly_summary` template reads (docs/reporting.md, "Weekly summary")."""
    base = options.base_url.rstrip("/")
    period = last.filters.query_string()
    queue = urlencode([("view", "all"), *last.filters.query()])
    return {
        "subject": f"Weekly summary, {last.filters.start} to {last.filters.end}",
        "lead_name": lead.name,
        "desk_name": options.desk_name,
        "start": last.filters.start.isoformat(),
        "end": last.filters.end.isoformat(),
        "empty": last.cases == 0,
        "rows": _rows(last, before) if last.cases else [],
        "grants": _grant_rows(last, before) if last.cases else [],
        "dashboard_link": f"{base}/reports?{period}",
        "queue_link": f"{base}/queue?{queue}",
    }


def _mark(lead_id: int, monday: date) -> str:
    return f"{lead_id}:{monday.isoformat()}"


def mail_summary(
    units: Callable[[], WeeklyUnit],
    now: datetime,
    lead: Agent,
    monday: date,
    options: WeeklyOptions,
    *,
    again: bool = False,
) -> int | None:
    """Queue the lead's summary of the week before `monday`; the mail's id, or None when it
    was mailed already (unless `again`: the command line's send-now)."""
    assert lead.id is not None
    if not lead.actor().can(Permission.APPROVE):
        raise ValidationFailed(
            f"{lead.email} is not a lead or admin",
            details={"field": "lead", "role": lead.role.value, "allowed": ["lead", "admin"]},
        )
    last, before = (measure_week(units, lead, now, f) for f in periods(monday))
    context = summary_context(lead, last, before, options)
    with units() as uow:
        if not again and uow.audit.for_entity("weekly_summary", _mark(lead.id, monday)):
            return None
        mail_id = mail_out.send_customer_mail(
            uow,
            to=lead.email,
            subject=context["subject"],
            text="",
            now=now,
            template=TEMPLATE,
            context=context,
        )
        publish_change(
            uow,
            SYSTEM,
            now,
            "weekly_summary.mailed",
            "weekly_summary",
            _mark(lead.id, monday),
            after={"mail_id": mail_id, "cases": last.cases},
        )
        uow.commit()
        return mail_id


def opted_in(uow: WeeklyUnit) -> list[Agent]:
    """The active leads and admins who asked for the summary."""
    return [
        a
        for a in uow.agents.all()
        if a.active and a.weekly_summary and a.actor().can(Permission.APPROVE)
    ]


@dataclass(frozen=True, slots=True)
class Sent:
    email: str
    monday: date
    mail_id: int | None


def send_now(
    units: Callable[[], WeeklyUnit], now: datetime, options: WeeklyOptions, lead: str | None
) -> list[Sent]:
    """The command line's send-now: last week's summary to every lead who asked for it, or to
    the lead or admin of that email (asked or not), mailed again if the timer's went out."""
    with units() as uow:
        if lead is None:
            leads = opted_in(uow)
        else:
            leads = [must_exist(uow.agents.get_by_email(lead), "agent", lead)]
    sent = []
    for agent in leads:
        monday = monday_of(agent, now, options.desk_zone)
        mail_id = mail_summary(units, now, agent, monday, options, again=True)
        sent.append(Sent(agent.email, monday, mail_id))
    return sent


def queue_due(units: Callable[[], WeeklyUnit], now: datetime, desk_zone: str) -> int:
    """The timer: one job per lead whose Monday 07:00 has come (until the day is out),
    keyed (lead, week) so that running again queues nothing more; how many it queued."""
    queued = 0
    with units() as uow:
        for lead in opted_in(uow):
            assert lead.id is not None
            monday = monday_of(lead, now, desk_zone)
            due = datetime.combine(monday, SEND_AT, tzinfo=zone(lead.time_zone or desk_zone))
            if not due <= now < due + CATCH_UP:
                continue
            key = f"weekly:{_mark(lead.id, monday)}"
            if uow.jobs.by_key(key) is None:
                payload = {"agent_id": lead.id, "week": monday.isoformat()}
                jobs.enqueue(uow, WEEKLY_JOB, payload, now=now, key=key)
                queued += 1
        uow.commit()
    return queued


def run_summary_job(ctx: JobContext, payload: dict[str, Any], options: WeeklyOptions) -> None:
    """The job: mail the summary, unless the lead stopped it or it was mailed already."""
    with ctx.uow() as uow:
        lead = uow.agents.get(int(payload["agent_id"]))
    if lead is None or not lead.active or not lead.weekly_summary:
        return
    if not lead.actor().can(Permission.APPROVE):
        return
    mail_summary(ctx.uow, ctx.clock.now(), lead, date.fromisoformat(payload["week"]), options)


def register_weekly(registry: HandlerRegistry, options: WeeklyOptions) -> None:
    """The weekly summary's timer and job; `bootstrap.wire_jobs` calls this."""
    registry.register(WEEKLY_JOB, lambda ctx, payload: run_summary_job(ctx, payload, options))

    def timer(ctx: JobContext) -> None:
        queue_due(ctx.uow, ctx.clock.now(), options.desk_zone)

    registry.register_timer(WEEKLY_TIMER, WEEKLY_EVERY, timer)
