"""How a case's SLA reads in the API: the policy in force and each clock."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from caredesk.domain.sla import ClockReading, ClockStatus, SlaMetric
from caredesk.services.sla.sla import CaseSla


class SlaClockOut(BaseModel):
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

    @classmethod
    def of(cls, reading: ClockReading) -> SlaClockOut:
        return cls(
            metric=reading.metric,
            cycle=reading.cycle,
            status=reading.status,
            target_minutes=reading.target_minutes,
            elapsed_minutes=reading.elapsed_minutes,
            remaining_minutes=reading.remaining_minutes,
            percent=reading.percent,
            due_at=reading.due_at,
            warn_at=reading.warn_at,
            breached_at=reading.breached_at,
            completed_at=reading.completed_at,
        )


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
