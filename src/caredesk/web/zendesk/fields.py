"""Ticket fields: the custom fields' definitions an import from Zendesk kept."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from caredesk.domain.errors import NotFound
from caredesk.services.zendesk import fields
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute

router = APIRouter(route_class=ZendeskRoute)
# Zendesk's ids are 64-bit; one past that names no field.
FIELD_ID_MAX = 2**63 - 1


@router.get("/ticket_fields.json")
def list_ticket_fields(call: Call) -> JSONResponse:
    found = [out.ticket_field(f, call.base) for f in call.read(fields.list_ticket_fields)]
    return answer(
        {"ticket_fields": found, "next_page": None, "previous_page": None, "count": len(found)}
    )


@router.get("/ticket_fields/{field_id}.json")
def show_ticket_field(call: Call, field_id: int) -> JSONResponse:
    if not 1 <= field_id <= FIELD_ID_MAX:
        raise NotFound("ticket_field", field_id)
    found = call.read(fields.get_ticket_field, field_id)
    return answer({"ticket_field": out.ticket_field(found, call.base)})
