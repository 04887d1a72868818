"""What the job queue's tests share: queuing a job and reading it back, waiting for what a
worker does, and `caredesk worker` processes that load the probe handler (job_probe.py)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caredesk.bootstrap import Container
from caredesk.domain.jobs import Job
from caredesk.services.core import jobs

REPO = Path(__file__).resolve().parents[2]
WORKER_COMMAND = [sys.executable, "-m", "caredesk.cli.main", "worker"]


def queue_job(container: Container, kind: str, payload: dict[str, Any], **kw: Any) -> int:
    with container.uow() as uow:
        job_id = jobs.enqueue(uow, kind, payload, now=container.clock.now(), **kw)
        uow.commit()
    return job_id


def stored_job(container: Container, job_id: int) -> Job:
    with container.uow() as uow:
        found = uow.jobs.get(job_id)
    assert found is not None
    return found


def wait_for(condition: Callable[[], bool], what: str, limit: float = 90) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def worker_env(database_url: str, **settings: str) -> dict[str, str]:
    """A worker process's environment: the probe handler, a two-second lease and quick polls,
    and `settings` as CAREDESK_* variables (`job_batch_size="3"`)."""
    return {
        **os.environ,
        # This checkout's caredesk, whichever one the environment has installed.
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")]),
        "CAREDESK_DATABASE_URL": database_url,
        "CAREDESK_JOB_PLUGINS": '["tests.integration.job_probe:register"]',
        "CAREDESK_JOB_LEASE_SECONDS": "2",
        "CAREDESK_WORKER_POLL_SECONDS": "0.2",
        "CAREDESK_WORKER_LISTEN_SECONDS": "0.2",
        "CAREDESK_SEMANTIC_SEARCH": "false",
        "CAREDESK_LOG_LEVEL": "warning",
        **{f"CAREDESK_{name.upper()}": value for name, value in settings.items()},
    }
