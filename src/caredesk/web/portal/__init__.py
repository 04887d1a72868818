"""The customer portal at /portal: server-rendered pages over the same services as agents."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from caredesk.services.portal import CustomerMailer, MemoryOutbox


def install_portal(app: FastAPI, mailer: CustomerMailer | None = None) -> None:
    """Mount the portal's pages, its static files and the CSAT API on the app."""
    from caredesk.web.portal import api, routes
    from caredesk.web.portal.common import STATIC_DIR

    app.state.portal_mailer = mailer or default_mailer()
    app.mount("/portal/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
    app.include_router(routes.router)
    app.include_router(api.router, prefix="/api/v1")


def default_mailer() -> CustomerMailer:
    logging.getLogger("caredesk.portal").warning(
        "no outbound mail for the portal: sign-in links and surveys are kept in memory only"
    )
    return MemoryOutbox()
