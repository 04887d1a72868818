"""The handler table: general handlers first, events recorded by handlers handled too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from caredesk.domain.agents import SYSTEM
from caredesk.domain.events import Changed, Event
from caredesk.services.core.messagebus import MAX_EVENTS, EventBus

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pinged(Event):
    n: int


class FakeUnitOfWork:
    """Just the event half of a unit of work."""

    def __init__(self) -> None:
        self.pending: list[Event] = []

    def publish(self, event: Event) -> None:
        self.pending.append(event)

    def collect_new_events(self) -> Iterator[Event]:
        while self.pending:
            yield self.pending.pop(0)


def changed(action: str) -> Changed:
    return Changed(actor=SYSTEM, at=NOW, action=action, entity_type="x", entity_id=1)


def test_every_event_meets_the_general_handlers_first_then_its_own() -> None:
    seen: list[str] = []
    bus = EventBus(
        {
            Event: [lambda _uow, e: seen.append(f"audit {type(e).__name__}")],
            Pinged: [lambda _uow, e: seen.append("ping")],
        }
    )
    uow = FakeUnitOfWork()
    uow.publish(Pinged(actor=SYSTEM, at=NOW, n=1))
    uow.publish(changed("token.created"))
    assert bus.dispatch(uow) == 2
    assert seen == ["audit Pinged", "ping", "audit Changed"]


def test_what_a_handler_records_is_handled_in_the_same_dispatch() -> None:
    handled: list[int] = []

    def again(uow: Any, event: Event) -> None:
        assert isinstance(event, Pinged)
        handled.append(event.n)
        if event.n < 3:
            uow.publish(Pinged(actor=SYSTEM, at=NOW, n=event.n + 1))

    uow = FakeUnitOfWork()
    uow.publish(Pinged(actor=SYSTEM, at=NOW, n=1))
    assert EventBus({Pinged: [again]}).dispatch(uow) == 3
    assert handled == [1, 2, 3]


def test_a_handler_that_records_forever_is_stopped() -> None:
    def forever(uow: Any, event: Event) -> None:
        uow.publish(event)

    uow = FakeUnitOfWork()
    uow.publish(changed("loop"))
    with pytest.raises(RuntimeError, match=str(MAX_EVENTS)):
        EventBus({Changed: [forever]}).dispatch(uow)


def test_an_audit_line_keeps_only_what_changed() -> None:
    event = Changed(
        actor=SYSTEM,
        at=NOW,
        action="webhook.updated",
        entity_type="webhook",
        entity_id=4,
        before={"url": "a", "active": True},
        after={"url": "b", "active": True},
    )
    (line,) = event.audit_entries()
    assert (line.entity_id, line.actor, line.before, line.after) == (
        "4",
        "system",
        {"url": "a"},
        {"url": "b"},
    )
