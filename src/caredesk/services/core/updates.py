"""An update command: the fields a caller sent change the record it read, in one transaction.

Every door calls a record's update the same way (`Update`). What an update says of its own
is the permission it needs, how it finds the record and checks the version the caller read,
and what the change does (its validation, its save, what it publishes); the path around
them (the permission first, then the version asked for, one unit of work, one commit, run
again on a conflict between transactions) is said here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import check_version, must_exist, version_required
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.ports import Transaction


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


U = TypeVar("U", bound=Transaction)
K = TypeVar("K")
R = TypeVar("R")
V = TypeVar("V", bound=Versioned)
U_in = TypeVar("U_in", bound=Transaction, contravariant=True)
K_in = TypeVar("K_in", contravariant=True)
R_out = TypeVar("R_out", covariant=True)

Changes = Mapping[str, Any]


class Update(Protocol[U_in, K_in, R_out]):
    """A record's update command, as the doors call it."""

    def __call__(
        self,
        uow: U_in,
        actor: Actor,
        now: datetime,
        key: K_in,
        /,
        *,
        expected_version: int | None,
        changes: Changes,
    ) -> R_out: ...


def stored(
    entity: str, lookup: Callable[[U], Callable[[K], V | None]]
) -> Callable[[U, Actor, K, int | None], V]:
    """How most updates find their record: by its key, through the lookup `lookup` names on
    the unit, refused when there is none or when it moved past the version the caller read."""

    def load(uow: U, actor: Actor, key: K, expected_version: int | None) -> V:
        current = must_exist(lookup(uow)(key), entity, key)
        check_version(entity, key, current.version, expected_version)
        return current

    return load


def copy_given(record: object, changes: Changes, names: Iterable[str]) -> None:
    """Set on `record` each of the fields `names` that the caller sent, as it was sent."""
    for name in names:
        if name in changes:
            setattr(record, name, changes[name])


@dataclass(frozen=True, slots=True)
class Audited(Generic[R]):
    """How an update is told in the audit trail: `<entity_type>.updated`, with the record as
    `snapshot` says it before and after."""

    entity_type: str
    snapshot: Callable[[R], dict[str, Any]]


def update_command(
    permission: Permission,
    load: Callable[[U, Actor, K, int | None], R],
    change: Callable[[U, Actor, datetime, R, Changes], R | None],
    *,
    audited: Audited[R] | None = None,
    version_needed: bool = True,
    refuse: Callable[[Changes], None] | None = None,
) -> Update[U, K, R]:
    """The update of a record that `load` finds and `change` changes (None: nothing changed,
    and the record is answered as it is stored, with nothing committed).

    Without `version_needed`, an update that names no version changes whatever is stored;
    `refuse` checks the changes before any unit of work is opened.
    """

    def update(
        uow: U,
        actor: Actor,
        now: datetime,
        key: K,
        /,
        *,
        expected_version: int | None,
        changes: Changes,
    ) -> R:
        actor.require(permission)
        version = version_required(expected_version) if version_needed else expected_version
        if refuse is not None:
            refuse(changes)
        with uow:
            current = load(uow, actor, key, version)
            before = audited.snapshot(current) if audited is not None else None
            updated = change(uow, actor, now, current, changes)
            if updated is None:
                return current
            if audited is not None:
                after = audited.snapshot(updated)
                kind = audited.entity_type
                publish_change(
                    uow, actor, now, f"{kind}.updated", kind, key, before=before, after=after
                )
            uow.commit()
            return updated

    update.__name__ = update.__qualname__ = change.__name__
    update.__module__ = change.__module__
    update.__doc__ = change.__doc__
    return command(update)
