"""Business calendars and SLA policies: data an admin edits, read by everyone."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, status
from pydantic import BaseModel

from caredesk.services.sla import sla
from caredesk.web.api.common import (
    Call,
    IdPath,
    SmallIdPath,
    Versioned,
    fields_of,
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
def list_calendars(call: Call) -> list[CalendarOut]:
    return [CalendarOut.of(c) for c in call.read(sla.list_calendars)]


@router.post("/calendars", status_code=status.HTTP_201_CREATED, tags=["sla"])
def create_calendar(body: CalendarIn, call: Call) -> CalendarOut:
    calendar = call.run(sla.create_calendar, **fields_of(body))
    return call.versioned(calendar, CalendarOut.of)


@router.get("/calendars/{calendar_id}", tags=["sla"])
def get_calendar(calendar_id: SmallIdPath, call: Call) -> CalendarOut:
    calendar = call.read(sla.get_calendar, calendar_id)
    return call.versioned(calendar, CalendarOut.of)


@router.patch("/calendars/{calendar_id}", tags=["sla"])
def update_calendar(
    calendar_id: SmallIdPath, body: CalendarPatch, call: Call, if_match: IfMatch = None
) -> CalendarOut:
    """Open cases counted in this calendar are worked out again by the worker."""
    calendar = call.update(sla.update_calendar, calendar_id, body, if_match, _changes(body))
    return call.versioned(calendar, CalendarOut.of)


@router.get("/sla-policies", tags=["sla"])
def list_policies(call: Call) -> list[SlaPolicyOut]:
    return [SlaPolicyOut.of(p) for p in call.read(sla.list_policies)]


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED, tags=["sla"])
def create_policy(body: SlaPolicyIn, call: Call) -> SlaPolicyOut:
    """The first active policy (lowest position) whose match accepts a case applies to it,
    unless a routing rule named one (`custom_fields.sla_policy`)."""
    targets = {k.value: v for k, v in body.targets.items()}
    match = body.match.model_dump(mode="json")
    policy = call.run(sla.create_policy, **fields_of(body, targets=targets, match=match))
    return call.versioned(policy, SlaPolicyOut.of)


@router.get("/sla-policies/{policy_id}", tags=["sla"])
def get_policy(policy_id: SmallIdPath, call: Call) -> SlaPolicyOut:
    policy = call.read(sla.get_policy, policy_id)
    return call.versioned(policy, SlaPolicyOut.of)


@router.patch("/sla-policies/{policy_id}", tags=["sla"])
def update_policy(
    policy_id: SmallIdPath, body: SlaPolicyPatch, call: Call, if_match: IfMatch = None
) -> SlaPolicyOut:
    """Open cases are moved to what the policies now say by the worker."""
    policy = call.update(sla.update_policy, policy_id, body, if_match, _changes(body))
    return call.versioned(policy, SlaPolicyOut.of)


@router.get("/cases/{case_id}/sla", tags=["sla"])
def case_sla(case_id: IdPath, call: Call) -> CaseSlaOut:
    """The case's policy, and each clock's due time, status and breach minute."""
    return CaseSlaOut.of(call.read(sla.case_sla, case_id, call.now()))
