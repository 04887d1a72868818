"""/api/v2: the subset of Zendesk's Support API that common clients use (docs/zendesk.md).

Its routes call caredesk's services as /api/v1 does, so roles, policy, audit and events apply
unchanged; only the shapes are Zendesk's."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response

from caredesk.web.zendesk import (
    attachments,
    fields,
    groups,
    ratings,
    search,
    ticket_export,
    ticket_writes,
    tickets,
    users,
)
from caredesk.web.zendesk.errors import not_supported

PREFIX = "/api/v2"
TAG = "zendesk"
ROUTERS = (
    users,
    groups,
    tickets,
    ticket_writes,
    search,
    ticket_export,
    ratings,
    fields,
    attachments,
)
# Every method a client may send: any of them on a path the desk does not answer is a 501.
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def install_zendesk(app: FastAPI) -> None:
    for module in ROUTERS:
        app.include_router(module.router, prefix=PREFIX, tags=[TAG])
    unsupported = APIRouter()

    # Last, so that it only meets what no route above answers.
    @unsupported.api_route("/{endpoint:path}", methods=METHODS, include_in_schema=False)
    def not_answered(request: Request, endpoint: str) -> Response:
        return not_supported(request)

    app.include_router(unsupported, prefix=PREFIX)
