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


@router.get("/organizations.json")
def list_organizations(call: Call) -> JSONResponse:
    """The desk keeps no organisations of customers: the true answer is an empty list (an
    import from Zendesk files a ticket's organisation as its `org:` tag instead)."""
    call.read(auth.list_teams)  # the caller may read the desk, as for any list
    return answer({"organizations": [], "next_page": None, "previous_page": None, "count": 0})
