"""The customer portal at /portal: server-rendered pages over the same services as agents."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from caredesk.services.channels.portal import CustomerMailer
from caredesk.services.channels.portal_mail import QueuedCustomerMailer


def install_portal(app: FastAPI, mailer: CustomerMailer | None = None) -> None:
    """Mount the portal's pages, its static files and the satisfaction API on the app. Mail
    goes through the durable queue unless another mailer is given (tests keep it in memory)."""
    from caredesk.web.portal import api, help, routes, surveys
    from caredesk.web.portal.common import STATIC_DIR

    app.state.portal_mailer = mailer or QueuedCustomerMailer()
    app.mount("/portal/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
    app.include_router(routes.router)
    app.include_router(help.router)
    app.include_router(surveys.router)
    app.include_router(api.router, prefix="/api/v1")
