"""Ninety days of history: everyday cases opened in the past and solved by now, through the
same commands as the console with `now` set back, so their clocks, grants (orders, ledger),
handoffs, surveys and audit trail are the real thing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from caredesk.demo.customers import DemoCustomer
from caredesk.demo.desk import Staff
from caredesk.demo.everyday import CHANNELS, fill
from caredesk.demo.schema import Ask
from caredesk.demo.tables import ask_data, history_data, service_level_data, staff_data
from caredesk.domain.agents import SYSTEM, Actor
from caredesk.domain.calendars import ALWAYS_OPEN, US_PER_MINUTE, Clockwork, from_us, to_us
from caredesk.domain.cases import CaseStatus, MessageKind
from caredesk.domain.orders import Order, OrderStatus
from caredesk.services.cases import cases
from caredesk.services.channels import portal
from caredesk.services.engine import grants
from caredesk.services.lifecycle import lifecycle
from caredesk.services.unit_of_work import UnitOfWorkFactory

# How far back the store's case history goes, and how many cases it holds at most.
HISTORY_DAYS = 90
HISTORY_CASES = 90


def _fits_then(ask: Ask, order: Order, at: datetime) -> bool:
    """Whether the order was, at `at`, what the ask is about."""
    if order.placed_at is None or order.placed_at >= at or order.status is OrderStatus.CANCELLED:
        return False
    shipped = [f for f in order.shipments if f.shipped_at is not None and f.shipped_at < at]
    delivered = [f.delivered_at for f in shipped if f.delivered_at and f.delivered_at < at]
    if ask.issue == "where_is_my_order":
        return bool(shipped) and len(delivered) < len(shipped)
    if ask.issue == "late_delivery":
        promised = order.promised_date
        return (
            bool(shipped)
            and len(delivered) < len(shipped)
            and promised is not None
            and promised < at.date()
        )
    if ask.issue in ("return_request", "damaged", "defective"):
        return bool(delivered) and at - max(delivered) < timedelta(days=30)
    if ask.issue == "billing":
        return at - order.placed_at < timedelta(days=45)
    return False


def _working(clockwork: Clockwork, start: datetime, minutes: float) -> datetime:
    return from_us(clockwork.add_working_us(to_us(start), int(minutes * US_PER_MINUTE)))


def _office_moment(
    rng: random.Random, calendar: Clockwork, start: datetime, end: datetime
) -> datetime:
    """Mostly while the desk is open, as most customers write from work; now and then not."""
    if rng.random() < 0.2:
        return start + timedelta(seconds=rng.randint(0, int((end - start).total_seconds())))
    open_us = calendar.working_us(to_us(start), to_us(end))
    return from_us(calendar.add_working_us(to_us(start), rng.randrange(max(open_us, 1))))


def _reply_after(
    rng: random.Random, clockwork: Clockwork, start: datetime, target: int, on_time: float
) -> datetime:
    """An agent's answer: within the target with chance `on_time`, else past it."""
    share = rng.uniform(0.05, 0.85) if rng.random() < on_time else rng.uniform(1.1, 1.8)
    return _working(clockwork, start, target * share)


def past_cases(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    staff: Staff,
    demo_customers: list[DemoCustomer],
    now: datetime,
    calendar: Clockwork,
) -> int:
    """Everyday cases of the last 90 days, every one solved by now: replies in business
    hours (a few late, so some clocks breached), a grant where the policy offers one within
    the agent's authority, some escalations, and the customers' survey answers."""
    if not demo_customers:
        return 0
    wanted = min(HISTORY_CASES, max(12, len(demo_customers) // 4))
    # The slowest case (a low-priority one answered late twice, over a weekend)
    # takes about ten days: the history stops in time for every one to be solved by now.
    start, end = now - timedelta(days=HISTORY_DAYS), now - timedelta(days=14)
    asks = [a for a in ask_data().asks if a.may_solve]
    outbox = portal.MemoryOutbox(limit=1)
    openings = sorted(_office_moment(rng, calendar, start, end) for _ in range(wanted))
    for opened in openings:
        ask = rng.choices(asks, [a.weight for a in asks])[0]
        queue = rng.sample(demo_customers, len(demo_customers))
        demo_customer, order = next(
            ((s, o) for s in queue for o in s.orders if _fits_then(ask, o, opened)),
            (None, None),
        )
        if demo_customer is None:
            ask = ask_data().general()
            demo_customer = next(
                (s for s in queue if (s.customer.created_at or now) < opened), queue[0]
            )
        case = _PastCase(demo_customer, ask, order, opened)
        _past_case(uow_factory, rng, staff, case, now, calendar, outbox)
    return wanted


@dataclass(frozen=True, slots=True)
class _PastCase:
    demo_customer: DemoCustomer
    ask: Ask
    order: Order | None
    opened: datetime


@dataclass(slots=True)
class _Thread:
    """A past case as its messages go on: who answers it and when it has got to."""

    case_id: int
    agent: Actor
    at: datetime
    clockwork: Clockwork


def _past_case(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    staff: Staff,
    past: _PastCase,
    now: datetime,
    calendar: Clockwork,
    outbox: portal.MemoryOutbox,
) -> None:
    history = history_data()
    weights = history.priority_weights
    priority = rng.choices(list(weights), list(weights.values()))[0]
    targets = service_level_data().for_priority(priority)
    clockwork = calendar if targets.business_hours else ALWAYS_OPEN
    ask, demo_customer, order = past.ask, past.demo_customer, past.order
    agent_email = rng.choice(staff.members(ask.team))
    view = cases.create_case(
        uow_factory(),
        SYSTEM,
        past.opened,
        customer_id=demo_customer.customer.id,
        subject=fill(rng.choice(ask.subjects), demo_customer, order),
        body=fill(rng.choice(ask.bodies), demo_customer, order),
        channel=rng.choice(CHANNELS),
        priority=priority,
        team_id=staff.team_ids[ask.team],
        assignee_id=staff.agent_ids[agent_email],
        tags=[f"issue:{ask.issue}"],
        order_ids=[order.id] if order else [],
        custom_fields={"issue_type": ask.issue},
    )
    assert view.case.id is not None
    at = _reply_after(rng, clockwork, past.opened, targets.first_reply, 0.85)
    late = at > _working(clockwork, past.opened, targets.first_reply)
    thread = _Thread(view.case.id, staff.actor(agent_email), at, clockwork)
    reply = fill(ask.reply, demo_customer, order)
    cases.add_message(
        uow_factory(), thread.agent, at, thread.case_id, kind=MessageKind.OUTBOUND, body=reply
    )
    escalated = ask.team == staff_data().escalation.from_team and rng.random() < 0.12
    if escalated:
        _escalate(uow_factory, rng, staff, thread)
    if rng.random() < 0.45:
        _follow_up(uow_factory, rng, thread, targets.next_reply)
    if ask.issue in history.remedy_issues and rng.random() < 0.5:
        thread.at += timedelta(minutes=rng.randint(3, 30))
        _grant_best(uow_factory, thread.agent, thread.at, thread.case_id)
    _solve(uow_factory, rng, thread, ask, outbox, now, unhappy=late or escalated)


def _escalate(
    uow_factory: UnitOfWorkFactory, rng: random.Random, staff: Staff, thread: _Thread
) -> None:
    """Handed to the next tier, where one of its agents takes the case."""
    to_team = staff_data().escalation.to_team
    thread.at += timedelta(minutes=rng.randint(5, 40))
    lifecycle.escalate(
        uow_factory(),
        thread.agent,
        thread.at,
        thread.case_id,
        team_id=staff.team_ids[to_team],
        open_question="Is there more we can do than the usual answer?",
    )
    agent_email = rng.choice(staff.members(to_team))
    thread.agent = staff.actor(agent_email)
    thread.at = _working(thread.clockwork, thread.at, rng.randint(10, 90))
    cases.assign_case(
        uow_factory(),
        thread.agent,
        thread.at,
        thread.case_id,
        assignee_id=staff.agent_ids[agent_email],
    )


def _follow_up(
    uow_factory: UnitOfWorkFactory, rng: random.Random, thread: _Thread, target: int
) -> None:
    """The customer writes again; the next reply runs its own clock."""
    thread.at += timedelta(hours=rng.uniform(1, 30))
    cases.add_message(
        uow_factory(),
        SYSTEM,
        thread.at,
        thread.case_id,
        kind=MessageKind.INBOUND,
        body=rng.choice(history_data().follow_ups),
    )
    thread.at = _reply_after(rng, thread.clockwork, thread.at, target, 0.85)
    cases.add_message(
        uow_factory(),
        thread.agent,
        thread.at,
        thread.case_id,
        kind=MessageKind.OUTBOUND,
        body=rng.choice(history_data().answers),
    )


def _solve(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    thread: _Thread,
    ask: Ask,
    outbox: portal.MemoryOutbox,
    now: datetime,
    *,
    unhappy: bool,
) -> None:
    """The customer's thanks, the case solved, its survey, and (mostly) closed days later."""
    case_id, agent = thread.case_id, thread.agent
    at = thread.at + timedelta(hours=rng.uniform(0.5, 20))
    cases.add_message(uow_factory(), SYSTEM, at, case_id, kind=MessageKind.INBOUND, body=ask.thanks)
    at = _working(thread.clockwork, at, rng.randint(5, 90))
    cases.change_status(uow_factory(), agent, at, case_id, CaseStatus.SOLVED)
    if rng.random() < 0.75:
        at += timedelta(hours=rng.uniform(0.5, 3))
        _survey(uow_factory, rng, outbox, at, case_id, unhappy=unhappy)
    closed = at + timedelta(days=4)
    if rng.random() < 0.7 and closed < now:
        cases.change_status(uow_factory(), SYSTEM, closed, case_id, CaseStatus.CLOSED)


def _grant_best(uow_factory: UnitOfWorkFactory, agent: Actor, at: datetime, case_id: int) -> None:
    """The planner's best offer that the agent may grant alone, executed like a click."""
    ranking = grants.plan_case(uow_factory(), agent, at, case_id).ranking
    offer = next((o for o in ranking.offers if not o.decision.needs_approval), None)
    if offer is None:
        return
    grants.grant_on_case(
        uow_factory(),
        agent,
        at,
        case_id,
        offer.remedy_ids,
        idempotency_key=f"demo-history-{case_id}",
    )


def _survey(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    outbox: portal.MemoryOutbox,
    at: datetime,
    case_id: int,
    *,
    unhappy: bool,
) -> None:
    """The survey of a solved case, answered (or not) by its customer within two days."""
    links: list[str] = []

    def link_for(secret: str, score: int | None) -> str:
        links.append(secret)
        return f"/survey/{secret}"

    survey = portal.send_survey(
        uow_factory(), outbox, at, case_id, link_for=link_for, valid_for=timedelta(days=14)
    )
    if survey is None or rng.random() < 0.35:
        return
    weights = (3, 3, 2, 1, 1) if unhappy else (1, 1, 2, 5, 8)
    score = rng.choices((1, 2, 3, 4, 5), weights)[0]
    comment = rng.choice(history_data().survey_comments[score])
    portal.answer_survey(
        uow_factory(),
        at + timedelta(hours=rng.uniform(0.2, 40)),
        links[0],
        score=score,
        comment=comment or None,
    )
