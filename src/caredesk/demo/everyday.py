"""Everyday cases around the stories, in every status, so the queues look lived in: the asks
of asks.yaml, each put by a customer whose order fits it."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from caredesk.demo.customers import DemoCustomer
from caredesk.demo.desk import Staff
from caredesk.demo.orders import spoken_date
from caredesk.demo.schema import STORIES_WITHIN, Ask, Fits
from caredesk.demo.tables import ask_data
from caredesk.domain.agents import SYSTEM, Actor
from caredesk.domain.cases import CaseStatus, Channel, MessageKind
from caredesk.domain.orders import Order, OrderStatus
from caredesk.services.cases import cases
from caredesk.services.unit_of_work import UnitOfWorkFactory


def _in_transit(order: Order, now: datetime) -> bool:
    return order.status in (OrderStatus.PROCESSED, OrderStatus.SHIPPED)


def _late(order: Order, now: datetime) -> bool:
    promised = order.promised_date
    return order.status is OrderStatus.SHIPPED and promised is not None and promised < now.date()


def _recently_delivered(order: Order, now: datetime) -> bool:
    delivered = [f.delivered_at for f in order.shipments if f.delivered_at]
    return (
        order.status is OrderStatus.DELIVERED
        and bool(delivered)
        and (now - max(delivered)) < timedelta(days=60)
    )


def _paid(order: Order, now: datetime) -> bool:
    return (
        order.status is not OrderStatus.CANCELLED
        and order.placed_at is not None
        and (now - order.placed_at) < timedelta(days=90)
    )


def _cancellable(order: Order, now: datetime) -> bool:
    return order.status in (OrderStatus.PENDING, OrderStatus.PROCESSED)


# Which orders each `fits` of asks.yaml names, as they are now.
FITS: dict[Fits, Callable[[Order, datetime], bool]] = {
    "in_transit": _in_transit,
    "late": _late,
    "recently_delivered": _recently_delivered,
    "paid": _paid,
    "cancellable": _cancellable,
}
# Email twice as often as the portal or chat.
CHANNELS = (Channel.EMAIL, Channel.EMAIL, Channel.PORTAL, Channel.CHAT)


def fill(text: str, demo_customer: DemoCustomer, order: Order | None) -> str:
    """An ask's text with the customer's name and the order's facts in it."""
    promised = order.promised_date if order else None
    fulfilled = order.shipments if order else []
    values = {
        "first": demo_customer.customer.first_name,
        "order": order.id if order else "",
        "product": order.lines[0].name if order else "",
        "total": f"{order.total:,}" if order else "",
        "carrier": fulfilled[0].carrier if fulfilled and fulfilled[0].carrier else "the carrier",
        "promised": spoken_date(promised) if promised else "the end of the week",
    }
    return text.format(**values)


def background_cases(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    staff: Staff,
    demo_customers: list[DemoCustomer],
    now: datetime,
) -> int:
    """A few dozen everyday cases in every status, so the queues look lived in."""
    asks = ask_data().asks
    wanted = min(45, max(8, len(demo_customers) // 6), len(demo_customers))
    queue = rng.sample(demo_customers, len(demo_customers))
    for _ in range(wanted):
        ask = rng.choices(asks, [a.weight for a in asks])[0]
        fits = FITS[ask.fits] if ask.fits else None
        demo_customer, order = next(
            ((s, o) for s in queue for o in s.orders if fits and fits(o, now)),
            (queue[0], None),
        )
        if order is None:
            ask = ask_data().general()
        queue.remove(demo_customer)
        _everyday_case(uow_factory, rng, staff, demo_customer, ask, order, now)
    return wanted


def _opened(
    rng: random.Random,
    demo_customer: DemoCustomer,
    order: Order | None,
    still_open: bool,
    now: datetime,
) -> datetime:
    """After the order's last news; a case still open when the demo starts is older than
    every story, a solved one had the time its messages back and forth take."""
    earliest = demo_customer.customer.created_at or now
    if order is not None and order.placed_at is not None:
        events = [order.placed_at, *(f.delivered_at or f.shipped_at for f in order.shipments)]
        earliest = max(e for e in events if e is not None)
    latest = now - (STORIES_WITHIN if still_open else timedelta(hours=40))
    earliest = min(max(earliest, now - timedelta(days=21)), latest)
    span = int((latest - earliest).total_seconds())
    return earliest + timedelta(seconds=rng.randint(span // 4, span) if span > 0 else 0)


def _everyday_case(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    staff: Staff,
    demo_customer: DemoCustomer,
    ask: Ask,
    order: Order | None,
    now: datetime,
) -> None:
    fate = rng.choices(("new", "open", "waiting", "solved", "closed"), (15, 25, 15, 30, 15))[0]
    if not ask.may_solve and fate in ("solved", "closed"):
        fate = "waiting"
    opened = _opened(rng, demo_customer, order, fate not in ("solved", "closed"), now)
    agent_email = rng.choice(staff.members(ask.team))
    view = cases.create_case(
        uow_factory(),
        SYSTEM,
        opened,
        customer_id=demo_customer.customer.id,
        subject=fill(rng.choice(ask.subjects), demo_customer, order),
        body=fill(rng.choice(ask.bodies), demo_customer, order),
        channel=rng.choice(CHANNELS),
        team_id=staff.team_ids[ask.team],
        assignee_id=None if fate == "new" else staff.agent_ids[agent_email],
        tags=[f"issue:{ask.issue}"],
        order_ids=[order.id] if order else [],
        custom_fields={"issue_type": ask.issue},
    )
    case_id = view.case.id
    assert case_id is not None
    if fate != "new":
        reply = fill(ask.reply, demo_customer, order)
        _answer(uow_factory, rng, staff.actor(agent_email), case_id, ask, reply, fate, opened, now)


def _answer(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    agent: Actor,
    case_id: int,
    ask: Ask,
    reply: str,
    fate: str,
    opened: datetime,
    now: datetime,
) -> None:
    """The agent's reply, and as far as the case's fate goes: waiting, thanked, solved,
    closed; nothing happens after `now`."""
    at = opened + timedelta(minutes=rng.randint(20, 300))
    if at > now:
        return
    cases.add_message(uow_factory(), agent, at, case_id, kind=MessageKind.OUTBOUND, body=reply)
    if fate == "open":
        return
    at += timedelta(minutes=rng.randint(2, 10))
    if fate == "waiting" or at > now:
        cases.change_status(uow_factory(), agent, min(at, now), case_id, ask.waits)
        return
    at += timedelta(hours=rng.randint(3, 30))
    if at > now:
        cases.change_status(uow_factory(), agent, now, case_id, ask.waits)
        return
    cases.add_message(uow_factory(), agent, at, case_id, kind=MessageKind.INBOUND, body=ask.thanks)
    at += timedelta(minutes=rng.randint(5, 90))
    cases.change_status(uow_factory(), agent, min(at, now), case_id, CaseStatus.SOLVED)
    closed_at = at + timedelta(days=4)
    if fate == "closed" and closed_at <= now:
        cases.change_status(uow_factory(), SYSTEM, closed_at, case_id, CaseStatus.CLOSED)
