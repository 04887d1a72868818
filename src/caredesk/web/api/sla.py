"""Business calendars and SLA policies: data an admin edits, read by everyone."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel

from caredesk.services.sla import sla
from caredesk.web.api.common import (
    IdPath,
    SmallIdPath,
    Versioned,
    fields_of,
    update_with,
    versioned,
)
from caredesk.web.api.schemas.sla import (
    CalendarIn,
    CalendarOut,
    CalendarPatch,
    CaseSlaOut,
    SlaPolicyIn,
    SlaPolicyOut,
    SlaPolicyPatch,
)
from caredesk.web.deps import ActorDep, ContainerDep, NowDep
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute)


Record = TypeVar("Record", bound=Versioned)
IfMatch = Annotated[str | None, Header()]


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
    calendar = sla.create_calendar(container.uow(), actor, now, **fields_of(body))
    return versioned(response, calendar, CalendarOut.of)


@router.get("/calendars/{calendar_id}", tags=["sla"])
def get_calendar(
    calendar_id: SmallIdPath, actor: ActorDep, container: ContainerDep, response: Response
) -> CalendarOut:
    calendar = sla.get_calendar(container.uow.read_only(), actor, calendar_id)
    return versioned(response, calendar, CalendarOut.of)


@router.patch("/calendars/{calendar_id}", tags=["sla"])
def update_calendar(
    calendar_id: SmallIdPath,
    body: CalendarPatch,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
) -> CalendarOut:
    """Open cases counted in this calendar are worked out again by the worker."""
    calendar = update_with(
        sla.update_calendar, calendar_id, body, actor, container, now, if_match, _changes(body)
    )
    return versioned(response, calendar, CalendarOut.of)


@router.get("/sla-policies", tags=["sla"])
def list_policies(actor: ActorDep, container: ContainerDep) -> list[SlaPolicyOut]:
    return [SlaPolicyOut.of(p) for p in sla.list_policies(container.uow.read_only(), actor)]


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED, tags=["sla"])
def create_policy(
    body: SlaPolicyIn, actor: ActorDep, container: ContainerDep, now: NowDep, response: Response
) -> SlaPolicyOut:
    """The first active policy (lowest position) whose match accepts a case applies to it,
    unless a routing rule named one (`custom_fields.sla_policy`)."""
    targets = {k.value: v for k, v in body.targets.items()}
    match = body.match.model_dump(mode="json")
    policy = sla.create_policy(
        container.uow(), actor, now, **fields_of(body, targets=targets, match=match)
    )
    return versioned(response, policy, SlaPolicyOut.of)


@router.get("/sla-policies/{policy_id}", tags=["sla"])
def get_policy(
    policy_id: SmallIdPath, actor: ActorDep, container: ContainerDep, response: Response
) -> SlaPolicyOut:
    policy = sla.get_policy(container.uow.read_only(), actor, policy_id)
    return versioned(response, policy, SlaPolicyOut.of)


@router.patch("/sla-policies/{policy_id}", tags=["sla"])
def update_policy(
    policy_id: SmallIdPath,
    body: SlaPolicyPatch,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
) -> SlaPolicyOut:
    """Open cases are moved to what the policies now say by the worker."""
    policy = update_with(
        sla.update_policy, policy_id, body, actor, container, now, if_match, _changes(body)
    )
    return versioned(response, policy, SlaPolicyOut.of)


@router.get("/cases/{case_id}/sla", tags=["sla"])
def case_sla(case_id: IdPath, actor: ActorDep, container: ContainerDep, now: NowDep) -> CaseSlaOut:
    """The case's policy, and each clock's due time, status and breach minute."""
    return CaseSlaOut.of(sla.case_sla(container.uow.read_only(), actor, case_id, now))
