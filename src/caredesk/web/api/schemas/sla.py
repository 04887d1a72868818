"""Request and response bodies of business calendars, SLA policies and a case's clocks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, StringConstraints

from caredesk.domain.calendars import BusinessCalendar
from caredesk.domain.cases import Channel, Priority
from caredesk.domain.sla import ClockReading, ClockStatus, SlaMetric, SlaPolicy
from caredesk.services.sla import sla
from caredesk.services.sla.sla import CaseSla
from caredesk.web.api.schemas.base import OutOf, Strict


class SlaClockOut(OutOf[ClockReading]):
    metric: SlaMetric
    cycle: int
    status: ClockStatus
    target_minutes: int | None
    elapsed_minutes: int = Field(description="Working minutes the clock has run.")
    remaining_minutes: int | None = Field(description="Negative once breached.")
    percent: int | None
    due_at: datetime | None
    warn_at: datetime | None
    breached_at: datetime | None = Field(description="The exact minute of the breach.")
    completed_at: datetime | None


class CaseSlaOut(BaseModel):
    policy_id: int | None
    policy_name: str | None
    clocks: list[SlaClockOut]

    @classmethod
    def of(cls, sla: CaseSla) -> CaseSlaOut:
        return cls(
            policy_id=sla.policy.id if sla.policy else None,
            policy_name=sla.policy.name if sla.policy else None,
            clocks=[SlaClockOut.of(r) for r in sla.clocks],
        )


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


class CalendarOut(OutOf[BusinessCalendar]):
    id: int
    name: str
    timezone: str
    hours: dict[str, list[str]]
    holidays: list[date]
    version: int

    @classmethod
    def of(cls, source: BusinessCalendar, **converted: Any) -> Self:
        return super().of(source, holidays=sorted(source.holidays), **converted)


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
