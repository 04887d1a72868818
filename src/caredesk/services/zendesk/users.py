"""Zendesk user ids: one integer for each customer and agent the API shows, given on first
sight and kept."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from caredesk.domain.agents import Actor, Permission
from caredesk.services.core.commands import command
from caredesk.services.zendesk.ports import UserRef
from caredesk.services.zendesk.unit import ZendeskUnit


@command
def user_ids(
    reader: ZendeskUnit,
    writer: ZendeskUnit,
    actor: Actor,
    now: datetime,
    people: Collection[UserRef],
) -> dict[UserRef, int]:
    """The user id of each of these people, given now to those shown for the first time.

    Every answer that names a person asks this, so the ids are read (`reader`: no write
    lock taken) and only people seen for the first time are written, in `writer`."""
    actor.require(Permission.READ)
    wanted = set(people)
    if not wanted:
        return {}
    with reader:
        known = reader.zendesk_users.ids_of(wanted)
    missing = wanted - known.keys()
    if missing:
        with writer:
            writer.zendesk_users.assign(missing, now)
            known |= writer.zendesk_users.ids_of(missing)
            writer.commit()
    return known


def people_of(uow: ZendeskUnit, actor: Actor, ids: Collection[int]) -> dict[int, UserRef]:
    """Who these user ids stand for; an id never given is left out."""
    actor.require(Permission.READ)
    if not ids:
        return {}
    with uow:
        return uow.zendesk_users.people(ids)
