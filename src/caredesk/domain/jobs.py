"""Durable jobs: their states, how a run ended, and when a failed one is tried again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from caredesk.domain.errors import DomainError, ErrorCode


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


@dataclass(slots=True)
class Job:
    id: int | None
    kind: str
    payload: dict[str, Any]
    state: JobState
    run_at: datetime
    created_at: datetime
    attempts: int = 0
    key: str | None = None
    locked_by: str | None = None
    locked_until: datetime | None = None
    last_error: str | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = field(default=None, compare=False)

    def retry_now(self, now: datetime) -> None:
        """An operator asks for one more go: only a dead (or finished) job may be queued again."""
        if self.state not in (JobState.DEAD, JobState.DONE):
            raise DomainError(
                f"job {self.id} is {self.state.value}; only a dead or done job can be retried",
                code=ErrorCode.JOB_STATE,
                details={"job_id": self.id, "state": self.state.value},
            )
        self.state = JobState.QUEUED
        self.run_at = now
        self.attempts = 0
        self.locked_by = None
        self.locked_until = None
        self.finished_at = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one claimed run of a job ended, as its worker records it.

    A worker records the outcomes of a batch together, with the claim of its next batch; until
    then the jobs stay running under its lease, so a worker that dies first leaves them to be
    run again when the lease expires (handlers are idempotent), never marked done unrun.
    """

    job_id: int
    state: JobState
    error: str | None = None
    # When a job queued again is next due; None for a released one, which keeps its time.
    run_at: datetime | None = None
    # Claimed but never started (its worker was stopping): the claim is not an attempt.
    released: bool = False

    @classmethod
    def done(cls, job_id: int) -> Outcome:
        return cls(job_id, JobState.DONE)

    @classmethod
    def again(cls, job_id: int, run_at: datetime, error: str) -> Outcome:
        return cls(job_id, JobState.QUEUED, error, run_at)

    @classmethod
    def dead(cls, job_id: int, error: str) -> Outcome:
        return cls(job_id, JobState.DEAD, error)

    @classmethod
    def release(cls, job_id: int) -> Outcome:
        return cls(job_id, JobState.QUEUED, released=True)


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff after the n-th failed attempt (1-based): base, 2·base, 4·base … cap.

    The exponent is bounded before it is applied so that a large attempt count cannot overflow.
    """
    exponent = min(max(attempts - 1, 0), 30)
    delay: timedelta = base * (2**exponent)
    return min(delay, cap)
