"""Repeat asks: answers asking the customer for what the desk already has, recorded and counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Case, Message, MessageKind
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.lifecycle import KnownToDesk, RepeatAsk, detect_repeat_asks
from caredesk.services.core.changes import publish_change
from caredesk.services.lifecycle.cases import get_case
from caredesk.services.lifecycle.ports import RepeatAskCount
from caredesk.services.lifecycle.unit import LifecycleUnit


def known_to_desk(uow: LifecycleUnit, case: Case) -> KnownToDesk:
    assert case.id is not None
    customer = uow.customers.get(case.customer_id)
    photos = any(
        a.content_type.startswith("image/")
        for m in uow.cases.messages(case.id)
        if m.kind is MessageKind.INBOUND
        for a in m.attachments
    )
    return KnownToDesk(
        order_number=bool(case.order_ids),
        address=bool(customer and customer.addresses),
        photos=photos,
        email=bool(customer and customer.emails),
        phone=bool(customer and customer.phones),
    )


def record_repeat_asks(
    uow: LifecycleUnit, actor: Actor, now: datetime, case: Case, message: Message
) -> list[RepeatAsk]:
    """The asks in an answer for what the desk already has, recorded as defects."""
    assert case.id is not None and message.id is not None
    kinds = detect_repeat_asks(message.body, known_to_desk(uow, case))
    asks = [RepeatAsk(None, case.id, message.id, actor.agent_id, kind, now) for kind in kinds]
    if asks:
        uow.lifecycle.add_repeat_asks(asks)
        publish_change(
            uow,
            actor,
            now,
            "message.repeat_ask",
            "message",
            message.id,
            case_id=case.id,
            after={"asked_for": [k.value for k in kinds]},
        )
    return asks


@dataclass(frozen=True, slots=True)
class RepeatAskReport:
    case_id: int
    items: list[RepeatAsk]

    @property
    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for ask in self.items:
            counts[ask.kind.value] = counts.get(ask.kind.value, 0) + 1
        return dict(sorted(counts.items()))


def case_repeat_asks(uow: LifecycleUnit, actor: Actor, case_id: int) -> RepeatAskReport:
    actor.require(Permission.READ)
    with uow:
        get_case(uow, case_id)
        return RepeatAskReport(case_id, uow.lifecycle.repeat_asks(case_id))


def repeat_ask_counts(
    uow: LifecycleUnit, actor: Actor, *, by: str, since: datetime | None = None, limit: int = 50
) -> list[RepeatAskCount]:
    actor.require(Permission.READ)
    if by not in ("case", "agent"):
        raise ValidationFailed("count by 'case' or 'agent'", details={"field": "by"})
    with uow:
        return uow.lifecycle.repeat_ask_counts(by, since, limit)
