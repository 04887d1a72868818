"""A read: what one lookup finds, to an actor allowed to see it, in a unit of work of its own.

A read commits nothing; leaving the unit rolls its transaction back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import must_exist
from caredesk.services.core.ports import Transaction

U = TypeVar("U", bound=Transaction)
R = TypeVar("R")


def read(uow: U, actor: Actor, permission: Permission, lookup: Callable[[U], R]) -> R:
    """What `lookup` finds in `uow`, once the actor is known to hold `permission`."""
    actor.require(permission)
    with uow:
        return lookup(uow)


def read_one(
    uow: U,
    actor: Actor,
    permission: Permission,
    lookup: Callable[[U], R | None],
    entity: str,
    key: object,
) -> R:
    """The one record `lookup` finds; none is the NotFound of `entity` `key`."""
    return must_exist(read(uow, actor, permission, lookup), entity, key)
