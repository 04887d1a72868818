"""The job queue for admins: what is queued, running, done or dead, and retrying the dead."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from caredesk.domain.jobs import JobState
from caredesk.services.core import jobs
from caredesk.web.api.common import BIG_ID_MAX, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, Call, IdPath
from caredesk.web.api.schemas.jobs import JobOut, JobPageOut
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["jobs"])


@router.get("/jobs")
def list_jobs(
    call: Call,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    before: Annotated[
        int | None, Query(ge=1, le=BIG_ID_MAX, description="Page on: jobs older than this id.")
    ] = None,
) -> JobPageOut:
    """Newest first; `state=dead` lists the dead letters."""
    found = call.read(jobs.list_jobs, state=state, limit=limit, after_id=before)
    counts = call.read(jobs.job_counts)
    next_before = found[-1].id if len(found) == limit else None
    return JobPageOut(items=[JobOut.of(j) for j in found], counts=counts, next_before=next_before)


@router.post("/jobs/{job_id}/retry")
def retry_job(job_id: IdPath, call: Call) -> JobOut:
    """Queue a dead (or done) job again, now, with its attempts counted afresh."""
    return JobOut.of(call.run(jobs.retry_job, job_id))
