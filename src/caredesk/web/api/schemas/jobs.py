"""Request and response bodies of the job queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from caredesk.domain.jobs import Job, JobState


class JobOut(BaseModel):
    id: int
    kind: str
    state: JobState
    payload: dict[str, Any]
    attempts: int
    run_at: datetime
    key: str | None
    locked_by: str | None
    locked_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        assert job.id is not None
        return cls(
            id=job.id,
            kind=job.kind,
            state=job.state,
            payload=job.payload,
            attempts=job.attempts,
            run_at=job.run_at,
            key=job.key,
            locked_by=job.locked_by,
            locked_until=job.locked_until,
            last_error=job.last_error,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )


class JobPageOut(BaseModel):
    items: list[JobOut]
    counts: dict[JobState, int]
    next_before: int | None = None
