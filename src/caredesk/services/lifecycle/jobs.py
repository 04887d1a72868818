"""The lifecycle's periodic work for the worker: commitment alerts and proactive scans."""

from __future__ import annotations

import logging
from datetime import timedelta

from caredesk.domain.agents import SYSTEM
from caredesk.services.core.jobs import HandlerRegistry, JobContext
from caredesk.services.lifecycle import lifecycle

log = logging.getLogger("caredesk.lifecycle")

COMMITMENT_SWEEP_EVERY = timedelta(minutes=1)
PROACTIVE_SCAN_EVERY = timedelta(hours=1)


def sweep_commitments(ctx: JobContext, options: lifecycle.LifecycleOptions) -> None:
    report = lifecycle.sweep_commitments(ctx.uow, SYSTEM, ctx.clock.now(), options)
    if report.alerted or report.missed:
        log.info(
            "commitments swept: %d alerted, %d missed, %d cases reopened",
            len(report.alerted),
            len(report.missed),
            len(report.reopened),
        )


def proactive_scan(ctx: JobContext, options: lifecycle.LifecycleOptions) -> None:
    report = lifecycle.proactive_scan(ctx.uow, SYSTEM, ctx.clock.now(), options)
    log.info(
        "proactive scan: %d found, %d cases opened, %d recommended, %d errors",
        report.found,
        len(report.opened),
        report.recommended,
        len(report.errors),
    )
    for error in report.errors:
        log.warning("proactive scan: %s", error)


def register_lifecycle(
    registry: HandlerRegistry,
    options: lifecycle.LifecycleOptions,
    *,
    scan_every: timedelta = PROACTIVE_SCAN_EVERY,
) -> None:
    """Both are timers, not jobs: each run re-reads the state, so a missed or doubled tick
    changes nothing (an alert or a finding is recorded once)."""
    registry.register_timer(
        "lifecycle.commitments", COMMITMENT_SWEEP_EVERY, lambda ctx: sweep_commitments(ctx, options)
    )
    registry.register_timer(
        "lifecycle.proactive_scan", scan_every, lambda ctx: proactive_scan(ctx, options)
    )
