"""Ticket fields: the definitions of the custom fields cases name by number, as an import
from Zendesk brought them."""

from __future__ import annotations

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import NotFound
from caredesk.services.zendesk.ports import TicketField
from caredesk.services.zendesk.unit import TicketFieldsUnit


def list_ticket_fields(uow: TicketFieldsUnit, actor: Actor) -> list[TicketField]:
    actor.require(Permission.READ)
    with uow:
        return uow.ticket_fields.all()


def get_ticket_field(uow: TicketFieldsUnit, actor: Actor, field_id: int) -> TicketField:
    actor.require(Permission.READ)
    with uow:
        found = uow.ticket_fields.get(field_id)
    if found is None:
        raise NotFound("ticket_field", field_id)
    return found
