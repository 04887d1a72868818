"""Every answer to a customer, read for repeat asks and promises in its own transaction."""

from __future__ import annotations

from datetime import datetime

from caredesk.domain.agents import Actor
from caredesk.domain.cases import Case, Message, MessageAdded, MessageKind
from caredesk.domain.events import Event
from caredesk.domain.lifecycle import Commitment, RepeatAsk
from caredesk.services.core.messagebus import Handler
from caredesk.services.lifecycle.commitments import record_promises
from caredesk.services.lifecycle.options import LifecycleOptions
from caredesk.services.lifecycle.repeat_asks import record_repeat_asks
from caredesk.services.lifecycle.unit import LifecycleUnit


def event_handler(options: LifecycleOptions) -> Handler:
    """The handler that reads every answer to a customer for repeat asks and promises."""

    def on_message_added(uow: LifecycleUnit, event: Event) -> None:
        assert isinstance(event, MessageAdded)
        if event.message.kind is MessageKind.OUTBOUND:
            after_outbound(uow, event.actor, event.at, event.case, event.message, options)

    return on_message_added


def after_outbound(
    uow: LifecycleUnit,
    actor: Actor,
    now: datetime,
    case: Case,
    message: Message,
    options: LifecycleOptions,
) -> tuple[list[RepeatAsk], list[Commitment]]:
    """Inside the reply's transaction: record its repeat asks and the promises it makes."""
    asks = record_repeat_asks(uow, actor, now, case, message)
    return asks, record_promises(uow, actor, now, case, message, options.timezone)
