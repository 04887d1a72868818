"""/metrics in the Prometheus text format: request rates and latencies by route, database pool
use, and the job queue, grants, approvals and mail as the database has them.

Several serving processes (`caredesk serve --workers N`) each count their own requests; with
PROMETHEUS_MULTIPROC_DIR set (`serve` sets it for more than one process) they write their
counts to files there and a scrape of any process sums them all. The database figures are
read at scrape time, the same from every process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from starlette.types import Scope

from caredesk.services.console.operations import operations_figures
from caredesk.services.console.ports import OperationsFigures
from caredesk.web.deps import ActorDep, ContainerDep
from caredesk.web.middleware import RequestObserver

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "caredesk_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "caredesk_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL_IN_USE = Gauge(
    "caredesk_db_connections_in_use",
    "Database connections checked out of the pool, summed over the serving processes.",
    multiprocess_mode="livesum",
)

router = APIRouter()


class RequestMetrics(RequestObserver):
    """Counts and times every HTTP request under the route it matched (the template, so that
    /cases/1 and /cases/2 are one series), or "unmatched"."""

    def answered(self, scope: Scope, status: int, seconds: float) -> None:
        route, method = route_template(scope), scope["method"]
        REQUESTS.labels(method, route, str(status)).inc()
        LATENCY.labels(method, route).observe(seconds)


def route_template(scope: Scope) -> str:
    """The template of the route a request matched, its router's prefix included
    ("/api/v1/cases/{case_id}"), or "unmatched"."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return "unmatched"
    # A route of an included router knows its path below the prefix: what the request's path
    # has before the route's own part, with the values in it, is the prefix.
    params = {key: str(value) for key, value in scope.get("path_params", {}).items()}
    try:
        own = template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
    path: str = scope["path"]
    return path[: len(path) - len(own)] + template if path.endswith(own) else template


class _Figures(Collector):
    def __init__(self, figures: OperationsFigures, now: float) -> None:
        self.figures, self.now = figures, now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        f = self.figures
        yield _by("caredesk_jobs", "Jobs in the queue, by state.", "state", f.jobs)
        oldest = GaugeMetricFamily(
            "caredesk_job_oldest_due_seconds",
            "How long the longest-waiting due job has waited to run (0 when none waits).",
        )
        waited = self.now - f.oldest_due_job_at.timestamp() if f.oldest_due_job_at else 0.0
        oldest.add_metric([], max(waited, 0.0))
        yield oldest
        yield _by("caredesk_grants", "Grants, by status.", "status", f.grants)
        yield _by("caredesk_approvals", "Approval requests, by status.", "status", f.approvals)
        yield _by("caredesk_mail_messages", "Mail stored, by direction.", "direction", f.mail)


def _by(name: str, doc: str, label: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, count in sorted(counts.items()):
        family.add_metric([key], count)
    return family


def _process_registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@router.get("/metrics", include_in_schema=False)
def metrics(actor: ActorDep, container: ContainerDep) -> Response:
    """For a scraper holding a token that may manage jobs (an admin's)."""
    now = container.clock.now()
    figures = operations_figures(container.uow.read_only(), actor, now)
    desk = CollectorRegistry()
    desk.register(_Figures(figures, now.timestamp()))
    body = generate_latest(_process_registry()) + generate_latest(desk)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _checked_out(*_: Any) -> None:
    POOL_IN_USE.inc()


def _checked_in(*_: Any) -> None:
    POOL_IN_USE.dec()


def install_metrics(app: FastAPI, engine: Engine) -> None:
    app.include_router(router)
    app.add_middleware(RequestMetrics)
    # Once per pool: several apps over one container (tests, a reloaded app) would otherwise
    # count each checkout once per app.
    for name, listener in (("checkout", _checked_out), ("checkin", _checked_in)):
        if not event.contains(engine.pool, name, listener):
            event.listen(engine.pool, name, listener)
