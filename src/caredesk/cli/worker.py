"""`caredesk worker`: run the durable jobs and timers until stopped (or once)."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer

from caredesk.cli.common import desk, err, out
from caredesk.settings import Settings


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Run the due timers and jobs, then exit.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Worker threads in this process.")
    ] = 1,
    model_threads: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="CPU threads for the models (0: every core); else "
            "CAREDESK_WORKER_MODEL_THREADS, else CAREDESK_MODEL_THREADS.",
        ),
    ] = None,
) -> None:
    """Run jobs (mail, webhooks, SLA warnings, intent triage…) and timers; start as many as
    you like."""
    from caredesk.bootstrap.models import worker_settings
    from caredesk.services.core.jobs import Worker, WorkerPool, worker_name

    # The models load: the worker reads the intents that requests queue (`triage.intent`).
    settings = worker_settings(Settings(), model_threads)
    with desk(models=True, settings=settings) as container:
        assert container.jobs is not None
        if once:
            ran = Worker(
                container.job_context(),
                container.jobs,
                name=worker_name(),
                options=container.worker_options,
            ).run_once()
            out.print(f"{ran} job(s) run")
            return
        pool = WorkerPool(
            container.job_context(),
            container.jobs,
            concurrency=concurrency,
            options=container.worker_options,
            wakeups=container.job_wakeups,
        )

        def _stop(signum: int, _frame: FrameType | None) -> None:
            err.print(f"signal {signum}: finishing the jobs in hand, then stopping")
            pool.stop_event.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        err.print(
            f"worker running ({concurrency} thread(s)); kinds: {sorted(container.jobs.handlers)}"
        )
        pool.start()
        pool.join()
