"""The agent console: server-rendered pages (Jinja2 + HTMX) over the same services as the API."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles


def console_routers() -> list[APIRouter]:
    """Every router of the console, in the order they are installed."""
    from caredesk.web.pages import (
        case,
        handoff,
        knowledge,
        manage,
        outbox,
        queues,
        retention_report,
        signin,
        sla_admin,
    )

    routers = (
        signin,
        queues,
        case,
        handoff,
        manage,
        knowledge,
        sla_admin,
        outbox,
        retention_report,
    )
    return [m.router for m in routers]


def install_console(app: FastAPI) -> None:
    from caredesk.web.pages.common import STATIC_DIR

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in console_routers():
        app.include_router(router)
