"""Request and response bodies of the job queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from caredesk.domain.jobs import Job, JobState
from caredesk.web.api.schemas.base import OutOf


class JobOut(OutOf[Job]):
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


class JobPageOut(BaseModel):
    items: list[JobOut]
    counts: dict[JobState, int]
    next_before: int | None = None
