"""Business calendars and SLA policies: data an admin edits, read by everyone."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel, Field, StringConstraints

from caredesk.domain.calendars import BusinessCalendar
from caredesk.domain.cases import Channel, Priority
from caredesk.domain.sla import SlaMetric, SlaPolicy
from caredesk.services.sla import sla
from caredesk.web.api.common import IdPath, SmallIdPath, expected_version, set_etag
from caredesk.web.api.schemas import Strict
from caredesk.web.api.sla_schemas import CaseSlaOut
from caredesk.web.deps import ActorDep, ContainerDep, NowDep
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute)

Span = Annotated[str, StringConstraints(max_length=20)]
Hours = dict[Annotated[str, StringConstraints(max_length=10)], list[Span]]
Tag = Annotated[str, StringConstraints(max_length=64)]


class CalendarIn(Strict):
    name: Annotated[str, StringConstraints(max_length=200)]
    timezone: Annotated[str, StringConstraints(max_length=64)]
    hours: Hours = Field(description='Per weekday: {"mon": ["09:00-12:00", "13:00-17:00"]}.')
    holidays: list[date] = Field(default_factory=list, max_length=2000)


class CalendarPatch(Strict):
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    hours: Hours | None = None
    holidays: list[date] | None = Field(default=None, max_length=2000)
    version: int | None = None


class CalendarOut(BaseModel):
    id: int
    name: str
    timezone: str
    hours: dict[str, list[str]]
    holidays: list[date]
    version: int

    @classmethod
    def of(cls, c: BusinessCalendar) -> CalendarOut:
        assert c.id is not None
        return cls(
            id=c.id,
            name=c.name,
            timezone=c.timezone,
            hours=c.hours,
            holidays=sorted(c.holidays),
            version=c.version,
        )


class MatchModel(Strict):
    tiers: list[Tag] = Field(default_factory=list, max_length=50)
    priorities: list[Priority] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class SlaPolicyIn(Strict):
    name: Annotated[str, StringConstraints(max_length=200)]
    targets: dict[SlaMetric, int] = Field(description="Minutes of working time per metric.")
    calendar_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    warn_percent: int = sla.DEFAULT_WARN_PERCENT
    match: MatchModel = Field(default_factory=MatchModel)
    position: int = Field(default=100, ge=0, le=1_000_000)
    active: bool = True


class SlaPolicyPatch(Strict):
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    targets: dict[SlaMetric, int] | None = None
    calendar_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    warn_percent: int | None = None
    match: MatchModel | None = None
    position: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool | None = None
    version: int | None = None


class SlaPolicyOut(BaseModel):
    id: int
    name: str
    targets: dict[SlaMetric, int]
    calendar_id: int | None
    warn_percent: int
    match: dict[str, list[str]]
    position: int
    active: bool
    version: int

    @classmethod
    def of(cls, p: SlaPolicy) -> SlaPolicyOut:
        assert p.id is not None
        snapshot = sla.policy_snapshot(p)
        return cls(
            id=p.id, targets=p.targets, **{k: v for k, v in snapshot.items() if k != "targets"}
        )


def _changes(body: BaseModel) -> dict[str, Any]:
    """The fields the caller sent (null included, where a field may be cleared)."""
    sent = body.model_dump(exclude_unset=True, mode="json")
    sent.pop("version", None)
    # Only the calendar may be cleared (back to calendar time); null elsewhere means "keep".
    return {k: v for k, v in sent.items() if v is not None or k == "calendar_id"}


@router.get("/calendars", tags=["sla"])
def list_calendars(actor: ActorDep, container: ContainerDep) -> list[CalendarOut]:
    return [CalendarOut.of(c) for c in sla.list_calendars(container.uow.read_only(), actor)]


@router.post("/calendars", status_code=status.HTTP_201_CREATED, tags=["sla"])
def create_calendar(
    body: CalendarIn, actor: ActorDep, container: ContainerDep, now: NowDep, response: Response
) -> CalendarOut:
    calendar = sla.create_calendar(
        container.uow(),
        actor,
        now,
        name=body.name,
        timezone=body.timezone,
        hours=body.hours,
        holidays=body.holidays,
    )
    set_etag(response, calendar.version)
    return CalendarOut.of(calendar)


@router.get("/calendars/{calendar_id}", tags=["sla"])
def get_calendar(
    calendar_id: SmallIdPath, actor: ActorDep, container: ContainerDep, response: Response
) -> CalendarOut:
    calendar = sla.get_calendar(container.uow.read_only(), actor, calendar_id)
    set_etag(response, calendar.version)
    return CalendarOut.of(calendar)


@router.patch("/calendars/{calendar_id}", tags=["sla"])
def update_calendar(
    calendar_id: SmallIdPath,
    body: CalendarPatch,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CalendarOut:
    """Open cases counted in this calendar are worked out again by the worker."""
    calendar = sla.update_calendar(
        container.uow(),
        actor,
        now,
        calendar_id,
        expected_version=expected_version(if_match, body.version),
        changes=_changes(body),
    )
    set_etag(response, calendar.version)
    return CalendarOut.of(calendar)


@router.get("/sla-policies", tags=["sla"])
def list_policies(actor: ActorDep, container: ContainerDep) -> list[SlaPolicyOut]:
    return [SlaPolicyOut.of(p) for p in sla.list_policies(container.uow.read_only(), actor)]


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED, tags=["sla"])
def create_policy(
    body: SlaPolicyIn, actor: ActorDep, container: ContainerDep, now: NowDep, response: Response
) -> SlaPolicyOut:
    """The first active policy (lowest position) whose match accepts a case applies to it,
    unless a routing rule named one (`custom_fields.sla_policy`)."""
    policy = sla.create_policy(
        container.uow(),
        actor,
        now,
        name=body.name,
        targets={k.value: v for k, v in body.targets.items()},
        calendar_id=body.calendar_id,
        warn_percent=body.warn_percent,
        match=body.match.model_dump(mode="json"),
        position=body.position,
        active=body.active,
    )
    set_etag(response, policy.version)
    return SlaPolicyOut.of(policy)


@router.get("/sla-policies/{policy_id}", tags=["sla"])
def get_policy(
    policy_id: SmallIdPath, actor: ActorDep, container: ContainerDep, response: Response
) -> SlaPolicyOut:
    policy = sla.get_policy(container.uow.read_only(), actor, policy_id)
    set_etag(response, policy.version)
    return SlaPolicyOut.of(policy)


@router.patch("/sla-policies/{policy_id}", tags=["sla"])
def update_policy(
    policy_id: SmallIdPath,
    body: SlaPolicyPatch,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> SlaPolicyOut:
    """Open cases are moved to what the policies now say by the worker."""
    policy = sla.update_policy(
        container.uow(),
        actor,
        now,
        policy_id,
        expected_version=expected_version(if_match, body.version),
        changes=_changes(body),
    )
    set_etag(response, policy.version)
    return SlaPolicyOut.of(policy)


@router.get("/cases/{case_id}/sla", tags=["sla"])
def case_sla(case_id: IdPath, actor: ActorDep, container: ContainerDep, now: NowDep) -> CaseSlaOut:
    """The case's policy, and each clock's due time, status and breach minute."""
    return CaseSlaOut.of(sla.case_sla(container.uow.read_only(), actor, case_id, now))
