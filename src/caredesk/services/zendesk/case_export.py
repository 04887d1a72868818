"""Zendesk's incremental export: every case, in the order it last changed."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Case
from caredesk.domain.errors import ValidationFailed
from caredesk.services.core.ports import Transaction
from caredesk.services.zendesk.ports import HasCaseStream


class StreamUnit(HasCaseStream, Transaction, Protocol):
    """The cases in the order they last changed."""


def changed_cases(
    uow: StreamUnit, actor: Actor, now: datetime, after: datetime, case_id: int, limit: int
) -> list[Case]:
    """The cases changed after (`after`, `case_id`), oldest change first. A time still to
    come is refused, as Zendesk refuses a `start_time` in the future."""
    actor.require(Permission.READ)
    if after > now:
        raise ValidationFailed("start_time is in the future", details={"field": "start_time"})
    with uow:
        return uow.zendesk_cases.changed_after(after, case_id, limit)
