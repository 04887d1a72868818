"""SLA calendars and policies in the administration: both written as YAML, checked whole,
with every problem shown beside the form."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import HTMLResponse

from caredesk.domain.agents import Permission
from caredesk.domain.errors import DomainError
from caredesk.services.console import sla_forms
from caredesk.services.sla import sla
from caredesk.web.pages.common import PageVisit, ReadPage, WritePage, page_router, redirect
from caredesk.web.pages.forms import YamlText

router = page_router()
CALENDAR_EXAMPLE = """name: Office hours
timezone: Europe/London
hours:
  mon: ["09:00-17:30"]
  tue: ["09:00-17:30"]
  wed: ["09:00-17:30"]
  thu: ["09:00-17:30"]
  fri: ["09:00-17:00"]
holidays: ["2026-12-25", "2026-12-26"]
"""
POLICY_EXAMPLE = """name: Gold customers
targets: {first_reply: 60, next_reply: 240, resolution: 1440}
calendar: Office hours   # leave out to count every hour of the day
warn_percent: 75
match: {tiers: [gold]}
position: 10
"""


def _page(
    visit: PageVisit,
    *,
    calendar_text: str = CALENDAR_EXAMPLE,
    policy_text: str = POLICY_EXAMPLE,
    calendar_error: str | None = None,
    policy_error: str | None = None,
) -> HTMLResponse:
    """The tab, or after a refusal the form sent back with what is wrong beside it."""
    visit.who.actor.require(Permission.MANAGE_POLICY)
    calendars = visit.read(sla.list_calendars)
    return visit.admin_tab(
        "sla",
        calendars=calendars,
        calendar_names={c.id: c.name for c in calendars},
        policies=visit.read(sla.list_policies),
        calendar_text=calendar_text,
        policy_text=policy_text,
        calendar_error=calendar_error,
        policy_error=policy_error,
        status_code=422 if calendar_error or policy_error else 200,
    )


def _problem(exc: DomainError) -> str:
    where = exc.details.get("field")
    return f"{where}: {exc.message}" if where else exc.message


@router.get("/admin/sla")
def sla_admin(visit: ReadPage) -> HTMLResponse:
    return _page(visit)


@router.post("/admin/sla/calendars")
def create_calendar(visit: WritePage, text: YamlText = "") -> Response:
    try:
        visit.run(sla.create_calendar, **sla_forms.calendar_fields(visit.container.formats, text))
    except DomainError as exc:
        return _page(visit, calendar_text=text, calendar_error=_problem(exc))
    return redirect("/admin/sla", "created")


@router.post("/admin/sla/policies")
def create_policy(visit: WritePage, text: YamlText = "") -> Response:
    try:
        fields = sla_forms.policy_fields(
            visit.container.formats, visit.container.uow.read_only, visit.who.actor, text
        )
        visit.run(sla.create_policy, **fields)
    except (DomainError, ValueError, TypeError) as exc:
        message = _problem(exc) if isinstance(exc, DomainError) else f"a wrong value: {exc}"
        return _page(visit, policy_text=text, policy_error=message)
    return redirect("/admin/sla", "created")
