"""A comment's file, by the `content_url` its attachment gives: served under /api/v2 so that
a Zendesk client fetches it with the credential it already sends (the `{email}/token` form
too), as it fetches Zendesk's own files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from caredesk.services.cases import cases
from caredesk.web.uploads import download
from caredesk.web.zendesk.calls import Call
from caredesk.web.zendesk.errors import ZendeskRoute

router = APIRouter(route_class=ZendeskRoute)

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


@router.get("/attachments/{sha256}/content", response_class=Response)
def content(sha256: Sha256, call: Call) -> Response:
    return download(call.read(cases.get_attachment, sha256))
