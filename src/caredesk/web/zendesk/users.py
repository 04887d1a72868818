"""Users: customers (`end-user`) and agents (`agent`, `admin`) under one integer id each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from caredesk.services.access import auth
from caredesk.services.zendesk.ports import UserRef
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute

router = APIRouter(route_class=ZendeskRoute)


def _anonymous(call: Call) -> dict[str, Any]:
    """A token that belongs to no agent is nobody in particular, as Zendesk's anonymous user."""
    return out.user(
        None,
        call.base,
        name="Anonymous user",
        email="invalid@example.com",
        role="anonymous",
        created_at=None,
        updated_at=None,
        user_fields={"caredesk_role": call.actor.role.value},
    )


@router.get("/users/me.json")
def me(call: Call) -> JSONResponse:
    agent_id = call.actor.agent_id
    if agent_id is None:
        return answer({"user": _anonymous(call)})
    agent = next(a for a in call.read(auth.list_agents) if a.id == agent_id)
    ref = UserRef.agent(agent_id)
    ids = call.user_ids([ref])
    return answer({"user": out.agent_user(agent, ids[ref], call.base)})
