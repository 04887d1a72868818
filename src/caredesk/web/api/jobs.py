"""The job queue for admins: what is queued, running, done or dead, and retrying the dead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caredesk.domain.jobs import Job, JobState
from caredesk.services.core import jobs
from caredesk.web.api.common import BIG_ID_MAX, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, IdPath
from caredesk.web.deps import ActorDep, ContainerDep, NowDep
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["jobs"])


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


@router.get("/jobs")
def list_jobs(
    actor: ActorDep,
    container: ContainerDep,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    before: Annotated[
        int | None, Query(ge=1, le=BIG_ID_MAX, description="Page on: jobs older than this id.")
    ] = None,
) -> JobPageOut:
    """Newest first; `state=dead` lists the dead letters."""
    found = jobs.list_jobs(
        container.uow.read_only(), actor, state=state, limit=limit, after_id=before
    )
    counts = jobs.job_counts(container.uow.read_only(), actor)
    next_before = found[-1].id if len(found) == limit else None
    return JobPageOut(items=[JobOut.of(j) for j in found], counts=counts, next_before=next_before)


@router.post("/jobs/{job_id}/retry")
def retry_job(job_id: IdPath, actor: ActorDep, container: ContainerDep, now: NowDep) -> JobOut:
    """Queue a dead (or done) job again, now, with its attempts counted afresh."""
    return JobOut.of(jobs.retry_job(container.uow(), actor, now, job_id))
