"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from caredesk import __version__
from caredesk.bootstrap import (
    Container,
    bootstrap,
    ensure_policy_in_force,
    start_embedder,
    start_rate_limiter,
    start_token_use_writer,
    start_worker,
)
from caredesk.domain.rates import Rate
from caredesk.settings import HSTS_MAX_AGE_SECONDS, Settings
from caredesk.web.api import admin, cases, customers, grants, jobs, knowledge, lifecycle, tools
from caredesk.web.api import mail as mail_api
from caredesk.web.api import reports as reports_api
from caredesk.web.api import sla as sla_api
from caredesk.web.api import webhooks as webhooks_api
from caredesk.web.api_docs import install_api_docs
from caredesk.web.metrics import install_metrics
from caredesk.web.middleware import AccessLog, BodySizeLimit, StrictTransportSecurity
from caredesk.web.pages import install_console
from caredesk.web.portal import install_portal
from caredesk.web.problems import install_problem_handlers
from caredesk.web.ratelimit import RateLimit, problem_refusal
from caredesk.web.uploads import BodyLimits
from caredesk.web.zendesk import PREFIX as ZENDESK_PREFIX
from caredesk.web.zendesk import install_zendesk
from caredesk.web.zendesk.errors import too_many_requests

API_PREFIX = "/api/v1"
# The REST API's routers, in the order the OpenAPI document lists them.
API_MODULES = (
    customers,
    cases,
    grants,
    tools,
    admin,
    knowledge,
    mail_api,
    lifecycle,
    jobs,
    sla_api,
    webhooks_api,
    reports_api,
)


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    container = container or bootstrap(settings or Settings())
    ensure_policy_in_force(container)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        start_embedder(container)
        start_worker(container)
        start_token_use_writer(container)
        yield
        container.close()

    app = FastAPI(
        title="caredesk",
        version=__version__,
        description="A customer-service desk that lets the front line say yes.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # Served by install_api_docs from the desk's own files, not from a CDN.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.container = container
    install_problem_handlers(app)
    for api in API_MODULES:
        app.include_router(api.router, prefix=API_PREFIX)
    install_zendesk(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_api_docs(app)
    install_console(app)
    install_portal(app)

    app.add_middleware(
        BodySizeLimit,
        max_bytes=container.settings.max_body_bytes,
        streamed=BodyLimits(container.settings.max_body_bytes, container.attachment_limits),
    )
    limiter = start_rate_limiter(container)
    if limiter is not None:
        # Outside the body limit: a request over its rate is refused before its body is read.
        app.add_middleware(
            RateLimit,
            limiter=limiter,
            per_client=Rate.parse(container.settings.rate_limit_per_client),
            refusals={API_PREFIX: problem_refusal, ZENDESK_PREFIX: too_many_requests},
        )
    # Outside the limits: a refused request is counted too.
    install_metrics(app, container.engine)
    app.add_middleware(AccessLog)
    if container.settings.production:
        # Outermost: every answer carries it, refusals by the inner middleware too.
        app.add_middleware(StrictTransportSecurity, max_age=HSTS_MAX_AGE_SECONDS)
    return app
