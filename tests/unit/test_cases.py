"""The case status machine and the rules on a case, without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.cases import (
    ALLOWED_TRANSITIONS,
    Case,
    CaseChanged,
    CaseOpened,
    CaseStatus,
    Message,
    MessageAdded,
    MessageKind,
    normalise_tags,
)
from caredesk.domain.errors import InvalidTransition, ValidationFailed

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def a_case(status: CaseStatus = CaseStatus.NEW) -> Case:
    return Case(
        id=1, subject="Printer", customer_id="c1", created_at=NOW, updated_at=NOW, status=status
    )


def a_message(kind: MessageKind) -> Message:
    return Message(id=None, case_id=1, kind=kind, body="hi", created_at=NOW)


@given(st.sampled_from(CaseStatus), st.sampled_from(CaseStatus))
def test_a_transition_is_allowed_exactly_when_the_table_says_so(
    start: CaseStatus, target: CaseStatus
) -> None:
    case = a_case(start)
    if target is start or target in ALLOWED_TRANSITIONS[start]:
        case.change_status(target, NOW)
        assert case.status is target
    else:
        with pytest.raises(InvalidTransition):
            case.change_status(target, NOW)
        assert case.status is start


def test_closed_is_final() -> None:
    assert ALLOWED_TRANSITIONS[CaseStatus.CLOSED] == frozenset()


def test_solving_stamps_solved_at_and_reopening_clears_it() -> None:
    case = a_case(CaseStatus.OPEN)
    case.change_status(CaseStatus.SOLVED, NOW)
    assert case.solved_at == NOW
    case.change_status(CaseStatus.OPEN, NOW + timedelta(hours=1))
    assert case.solved_at is None


@pytest.mark.parametrize("status", [CaseStatus.PENDING, CaseStatus.SOLVED])
def test_a_customer_reply_reopens_a_waiting_or_solved_case(status: CaseStatus) -> None:
    case = a_case(status)
    case.receive_message(a_message(MessageKind.INBOUND), NOW, SYSTEM)
    assert case.status is CaseStatus.OPEN


def test_the_first_reply_opens_a_new_case_and_a_note_changes_nothing() -> None:
    case = a_case()
    case.receive_message(a_message(MessageKind.NOTE), NOW, SYSTEM)
    assert case.status is CaseStatus.NEW
    case.receive_message(a_message(MessageKind.OUTBOUND), NOW, SYSTEM)
    assert case.status is CaseStatus.OPEN


def test_a_closed_case_takes_no_message_but_a_note() -> None:
    closed = a_case(CaseStatus.CLOSED)
    for kind in (MessageKind.INBOUND, MessageKind.OUTBOUND):
        with pytest.raises(InvalidTransition):
            closed.receive_message(a_message(kind), NOW, SYSTEM)
    closed.receive_message(a_message(MessageKind.NOTE), NOW, SYSTEM)
    assert closed.status is CaseStatus.CLOSED
    # Only the note happened: the refused messages left no event behind.
    assert [type(e) for e in closed.events] == [MessageAdded]


AGENT = Actor(role=Role.AGENT, agent_id=7)


def test_a_message_records_itself_with_the_status_it_moved() -> None:
    case = a_case(CaseStatus.PENDING)
    message = a_message(MessageKind.INBOUND)
    case.receive_message(message, NOW, AGENT)
    (event,) = case.events
    assert isinstance(event, MessageAdded) and event.message is message
    assert event.status_before is CaseStatus.PENDING and event.actor == AGENT
    message.id = 41  # given when stored: the trail reads it when the event is handled
    lines = event.audit_entries()
    assert [(e.action, e.entity_id, e.actor) for e in lines] == [
        ("message.inbound", "41", "agent:7"),
        ("case.status_changed", "1", "agent:7"),
    ]
    assert lines[1].before == {"status": "pending"} and lines[1].after == {"status": "open"}


def test_a_change_is_recorded_once_and_only_when_something_changed() -> None:
    case = a_case(CaseStatus.OPEN)
    before = case.snapshot()
    case.record_change(AGENT, NOW, before)
    assert case.events == []
    case.set_status(CaseStatus.SOLVED, NOW, AGENT)
    (event,) = case.events
    assert isinstance(event, CaseChanged) and event.solved_now
    assert event.action == "case.status_changed" and event.status_before is CaseStatus.OPEN
    case.events.clear()
    case.record_change(AGENT, NOW, case.snapshot(), "case.escalated", extra={"handoff_id": 3})
    (escalated,) = case.events
    (line,) = escalated.audit_entries()
    assert line.action == "case.escalated" and line.after == {"handoff_id": 3}


def test_an_opened_case_carries_its_first_message_and_who_it_came_from() -> None:
    case = a_case()
    first = a_message(MessageKind.INBOUND)
    case.opened(AGENT, NOW, first, audit_after={"channel": "email"})
    case.opened(SYSTEM, NOW, by_customer=False)
    by_customer, by_desk = case.events
    assert isinstance(by_customer, CaseOpened) and by_customer.message is first
    assert by_customer.by_customer and not isinstance(by_desk, CaseChanged)
    assert isinstance(by_desk, CaseOpened) and not by_desk.by_customer
    (line,) = by_customer.audit_entries()
    assert line.action == "case.created" and line.after is not None
    assert line.after["channel"] == "email" and line.after["status"] == "new"


def test_tags_are_normalised_and_validated() -> None:
    assert normalise_tags([" VIP", "vip", "os-upgrade", ""]) == ["os-upgrade", "vip"]
    with pytest.raises(ValidationFailed):
        normalise_tags(["has space"])


def test_a_case_needs_a_subject() -> None:
    with pytest.raises(ValidationFailed):
        Case(id=None, subject="   ", customer_id="c1", created_at=NOW, updated_at=NOW)
