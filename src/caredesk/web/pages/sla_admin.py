"""SLA calendars and policies in the administration: both written as YAML, checked whole,
with every problem shown beside the form."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from caredesk.domain.agents import Permission
from caredesk.domain.errors import DomainError, ValidationFailed
from caredesk.services.sla import sla
from caredesk.web.pages.common import (
    ContainerDep,
    PageRoute,
    Reader,
    SignedIn,
    Writer,
    redirect,
    render,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
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
    request: Request,
    who: SignedIn,
    container: ContainerDep,
    *,
    calendar_text: str = CALENDAR_EXAMPLE,
    policy_text: str = POLICY_EXAMPLE,
    calendar_error: str | None = None,
    policy_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    who.actor.require(Permission.MANAGE_POLICY)
    calendars = sla.list_calendars(container.uow.read_only(), who.actor)
    return render(
        request,
        "admin_sla.html",
        who,
        tab="sla",
        calendars=calendars,
        calendar_names={c.id: c.name for c in calendars},
        policies=sla.list_policies(container.uow.read_only(), who.actor),
        calendar_text=calendar_text,
        policy_text=policy_text,
        calendar_error=calendar_error,
        policy_error=policy_error,
        status_code=status_code,
        push_url="/admin/sla",
    )


def _mapping(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("write a YAML mapping (name: …, on separate lines)")
    return data


def _problem(exc: DomainError) -> str:
    where = exc.details.get("field")
    return f"{where}: {exc.message}" if where else exc.message


@router.get("/admin/sla")
def sla_admin(request: Request, who: Reader, container: ContainerDep) -> HTMLResponse:
    return _page(request, who, container)


@router.post("/admin/sla/calendars")
def create_calendar(
    request: Request,
    who: Writer,
    container: ContainerDep,
    text: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    try:
        data = _mapping(text)
        unknown = sorted(set(data) - {"name", "timezone", "hours", "holidays"})
        if unknown:
            raise ValidationFailed(f"unknown field {unknown[0]!r}", details={"field": unknown[0]})
        sla.create_calendar(
            container.uow(),
            who.actor,
            container.clock.now(),
            name=str(data.get("name", "")),
            timezone=str(data.get("timezone", "UTC")),
            hours=data.get("hours") or {},
            holidays=[str(d) for d in data.get("holidays") or []],
        )
    except DomainError as exc:
        return _page(
            request,
            who,
            container,
            calendar_text=text,
            calendar_error=_problem(exc),
            status_code=422,
        )
    return redirect("/admin/sla", "created")


@router.post("/admin/sla/policies")
def create_policy(
    request: Request,
    who: Writer,
    container: ContainerDep,
    text: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    try:
        data = _mapping(text)
        known = {"name", "targets", "calendar", "warn_percent", "match", "position", "active"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationFailed(f"unknown field {unknown[0]!r}", details={"field": unknown[0]})
        calendar_id = None
        if data.get("calendar"):
            calendars = sla.list_calendars(container.uow.read_only(), who.actor)
            found = [c.id for c in calendars if c.name == str(data["calendar"])]
            if not found:
                raise ValidationFailed(
                    f"no calendar named {data['calendar']!r}", details={"field": "calendar"}
                )
            calendar_id = found[0]
        targets = data.get("targets")
        if not isinstance(targets, dict):
            raise ValidationFailed("targets: minutes per metric", details={"field": "targets"})
        sla.create_policy(
            container.uow(),
            who.actor,
            container.clock.now(),
            name=str(data.get("name", "")),
            targets=targets,
            calendar_id=calendar_id,
            warn_percent=int(data.get("warn_percent", sla.DEFAULT_WARN_PERCENT)),
            match=data.get("match") or {},
            position=int(data.get("position", 100)),
            active=bool(data.get("active", True)),
        )
    except (DomainError, ValueError, TypeError) as exc:
        message = _problem(exc) if isinstance(exc, DomainError) else f"a wrong value: {exc}"
        return _page(
            request, who, container, policy_text=text, policy_error=message, status_code=422
        )
    return redirect("/admin/sla", "created")
