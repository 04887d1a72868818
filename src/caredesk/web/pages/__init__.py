"""The agent console: server-rendered pages (Jinja2 + HTMX) over the same services as the API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def install_console(app: FastAPI) -> None:
    from caredesk.web.pages import (
        case,
        handover,
        knowledge,
        manage,
        outbox,
        queues,
        signin,
        sla_admin,
    )
    from caredesk.web.pages.common import STATIC_DIR

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (signin, queues, case, handover, manage, knowledge, sla_admin, outbox):
        app.include_router(module.router)
