"""The handler table: every domain event reaches its handlers before its change commits.

The unit of work calls `EventBus.dispatch` from `commit()`: it drains the events the
command recorded (and those the handlers record in turn), runs each event's handlers in the
same transaction, and only then does the transaction commit. A handler that fails fails
the command, so a change and its follow-on effects land together or not at all.

The table is built once, in bootstrap: the one place that says what follows what.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from caredesk.domain.events import Event

if TYPE_CHECKING:
    from caredesk.services.unit_of_work import UnitOfWork

Handler = Callable[["UnitOfWork", Event], None]
# A command that records this many events, counting what its handlers record, is looping.
MAX_EVENTS = 10_000


class EventBus:
    def __init__(self, handlers: Mapping[type[Event], Sequence[Handler]] | None = None) -> None:
        self.handlers: dict[type[Event], list[Handler]] = {
            kind: list(found) for kind, found in (handlers or {}).items()
        }

    def handlers_for(self, event: Event) -> list[Handler]:
        """The general handlers first (the audit line of every event), then the specific."""
        return [
            handler
            for kind in reversed(type(event).__mro__)
            for handler in self.handlers.get(kind, ())
        ]

    def dispatch(self, uow: UnitOfWork) -> int:
        """Handle every event the unit of work holds, until none is left; returns how many."""
        handled = 0
        while True:
            pending = list(uow.collect_new_events())
            if not pending:
                return handled
            for event in pending:
                handled += 1
                if handled > MAX_EVENTS:
                    raise RuntimeError(f"more than {MAX_EVENTS} events in one command")
                for handler in self.handlers_for(event):
                    handler(uow, event)
