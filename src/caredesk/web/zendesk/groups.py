"""Groups: caredesk's teams."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from caredesk.services.access import auth
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute

router = APIRouter(route_class=ZendeskRoute)


@router.get("/groups.json")
def list_groups(call: Call) -> JSONResponse:
    teams = sorted(call.read(auth.list_teams), key=lambda t: t.id or 0)
    groups = [out.group(t, call.base) for t in teams]
    return answer(
        {"groups": groups, "next_page": None, "previous_page": None, "count": len(groups)}
    )
