"""Follow-on effects come from events, whichever door a change came in by.

Each test here reproduces a path that used to skip a step because it was called by hand:
a case opened by mail had no SLA clocks, a mail reply left a reopened case's clocks paused,
and the console's "send and mark solved" could send without solving.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest

from caredesk.adapters.mail.parse import parse_mail
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.cases import CaseChanged, CaseStatus, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.events import Event
from caredesk.domain.sla import ClockStatus, SlaMetric
from caredesk.services.cases import cases, customers
from caredesk.services.channels.mail_in import IntakeResult, receive_mail
from caredesk.services.console import console
from caredesk.services.sla import sla
from caredesk.services.unit_of_work import UnitOfWork
from tests.conftest import ManualClock

AGENT = Actor(role=Role.AGENT, agent_id=None)


def _mail(message_id: str, body: str, in_reply_to: str | None = None) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Maya Hart <maya.hart@example.net>"
    message["To"] = "support@caredesk.example"
    message["Subject"] = "Wrong items in my first order"
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    message.set_content(body)
    return message.as_bytes()


def _deliver(container: Container, raw: bytes) -> IntakeResult:
    return receive_mail(
        container.uow(),
        raw,
        now=container.clock.now(),
        config=container.mail,
        parser=parse_mail,
    )


def _policy(container: Container) -> None:
    sla.create_policy(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        name="Everyone",
        targets={"first_reply": 60, "next_reply": 120, "resolution": 480},
    )


def _clocks(container: Container, case_id: int) -> dict[tuple[SlaMetric, int], ClockStatus]:
    shown = sla.case_sla(container.uow(), SYSTEM, case_id, container.clock.now())
    return {(c.metric, c.cycle): c.status for c in shown.clocks}


def test_a_case_opened_by_mail_gets_its_sla_clocks(container: Container) -> None:
    _policy(container)
    opened = _deliver(container, _mail(make_msgid(), "I received t-shirts, not dresses."))
    assert opened.case_id is not None
    shown = sla.case_sla(container.uow(), SYSTEM, opened.case_id, container.clock.now())
    assert shown.policy is not None and shown.policy.name == "Everyone"
    assert _clocks(container, opened.case_id) == {
        (SlaMetric.FIRST_REPLY, 1): ClockStatus.RUNNING,
        (SlaMetric.RESOLUTION, 1): ClockStatus.RUNNING,
    }


def test_a_mail_reply_that_reopens_a_pending_case_resumes_its_clocks(
    container: Container, clock: ManualClock
) -> None:
    _policy(container)
    first_id = make_msgid()
    opened = _deliver(container, _mail(first_id, "I received t-shirts, not dresses."))
    assert opened.case_id is not None
    case_id = opened.case_id
    cases.add_message(
        container.uow(), AGENT, clock.now(), case_id, kind=MessageKind.OUTBOUND, body="Sorry!"
    )
    cases.change_status(container.uow(), AGENT, clock.now(), case_id, CaseStatus.PENDING)
    assert _clocks(container, case_id)[(SlaMetric.RESOLUTION, 1)] is ClockStatus.PAUSED

    clock.advance(hours=2)
    reply = _deliver(container, _mail(make_msgid(), "Any news?", in_reply_to=first_id))
    assert reply.case_id == case_id
    assert cases.get_case(container.uow(), SYSTEM, case_id).case.status is CaseStatus.OPEN
    clocks = _clocks(container, case_id)
    assert clocks[(SlaMetric.RESOLUTION, 1)] is ClockStatus.RUNNING
    # The customer wrote again: the desk owes them the next reply.
    assert clocks[(SlaMetric.NEXT_REPLY, 1)] is ClockStatus.RUNNING


def test_a_reply_and_its_solving_land_together_or_not_at_all(container: Container) -> None:
    view = cases.create_case(
        container.uow(),
        AGENT,
        container.clock.now(),
        customer_id=_customer(container),
        subject="Printer stopped",
        body="It stopped after the update.",
    )
    case = view.case
    assert case.id is not None

    def refuse_solving(uow: UnitOfWork, event: Event) -> None:
        if isinstance(event, CaseChanged) and event.solved_now:
            raise DomainError("the index is down", code=ErrorCode.SEARCH_UNAVAILABLE)

    container.uow.bus.handlers[CaseChanged].append(refuse_solving)
    with pytest.raises(DomainError, match="index is down"):
        _send_and_solve(container, case.id, case.version)
    unchanged = cases.get_case(container.uow(), SYSTEM, case.id)
    assert unchanged.case.status is CaseStatus.NEW
    assert [m.kind for m in unchanged.messages] == [MessageKind.INBOUND]

    container.uow.bus.handlers[CaseChanged].remove(refuse_solving)
    _send_and_solve(container, case.id, case.version)
    solved = cases.get_case(container.uow(), SYSTEM, case.id)
    assert solved.case.status is CaseStatus.SOLVED
    assert [m.kind for m in solved.messages] == [MessageKind.INBOUND, MessageKind.OUTBOUND]
    # A page someone changed since sends nothing.
    with pytest.raises(DomainError) as stale:
        _send_and_solve(container, case.id, case.version)
    assert stale.value.code is ErrorCode.VERSION_CONFLICT
    assert len(cases.get_case(container.uow(), SYSTEM, case.id).messages) == 2


def _send_and_solve(container: Container, case_id: int, version: int) -> None:
    console.reply(
        container.uow(),
        AGENT,
        container.clock.now(),
        case_id,
        kind=MessageKind.OUTBOUND,
        body="A newer unit is on its way.",
        attachments=[],
        attachment_limits=AttachmentLimits(),
        solve_at_version=version,
        lifecycle_options=container.lifecycle,
    )


def _customer(container: Container) -> str:
    created = customers.create_customer(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        first_name="Sam",
        last_name="Greengard",
        emails=["sam@example.net"],
    )
    return created.id
