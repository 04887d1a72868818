"""What the job queue needs from the database: durable jobs and periodic timers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from caredesk.domain.jobs import Job, JobState


class JobRepository(Protocol):
    def add(self, job: Job) -> int:
        """Store a new job; when its key is already stored, return that job's id instead."""
        ...

    def get(self, job_id: int) -> Job | None: ...

    def by_key(self, key: str) -> Job | None: ...

    def save(self, job: Job) -> None: ...

    def find(self, state: JobState | None, limit: int, after_id: int | None) -> list[Job]:
        """Newest first; `after_id` pages on to older jobs."""
        ...

    def counts(self) -> dict[JobState, int]: ...

    def claim(self, worker: str, now: datetime, lease: timedelta, limit: int) -> list[Job]:
        """Take due jobs (queued and due, or running with an expired lease) for `worker`.

        Two workers never take the same job: rows are locked and skipped (PostgreSQL) or the
        claim runs as the single writer (SQLite). Each taken job counts one more attempt.
        """
        ...

    def extend_lease(self, job_id: int, worker: str, until: datetime) -> bool:
        """Hold a running job longer; False when `worker` no longer holds it."""
        ...

    def claim_timer(self, name: str, every: timedelta, now: datetime) -> bool:
        """True when this caller won the timer's run due at `now`; it is then due `every` later."""
        ...
