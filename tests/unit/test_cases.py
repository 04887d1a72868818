"""The case status machine and the rules on a case, without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caredesk.domain.cases import (
    ALLOWED_TRANSITIONS,
    Case,
    CaseStatus,
    Message,
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
    case.receive_message(a_message(MessageKind.INBOUND), NOW)
    assert case.status is CaseStatus.OPEN


def test_the_first_reply_opens_a_new_case_and_a_note_changes_nothing() -> None:
    case = a_case()
    case.receive_message(a_message(MessageKind.NOTE), NOW)
    assert case.status is CaseStatus.NEW
    case.receive_message(a_message(MessageKind.OUTBOUND), NOW)
    assert case.status is CaseStatus.OPEN


def test_a_closed_case_takes_no_message_but_a_note() -> None:
    closed = a_case(CaseStatus.CLOSED)
    for kind in (MessageKind.INBOUND, MessageKind.OUTBOUND):
        with pytest.raises(InvalidTransition):
            closed.receive_message(a_message(kind), NOW)
    closed.receive_message(a_message(MessageKind.NOTE), NOW)
    assert closed.status is CaseStatus.CLOSED


def test_tags_are_normalised_and_validated() -> None:
    assert normalise_tags([" VIP", "vip", "os-upgrade", ""]) == ["os-upgrade", "vip"]
    with pytest.raises(ValidationFailed):
        normalise_tags(["has space"])


def test_a_case_needs_a_subject() -> None:
    with pytest.raises(ValidationFailed):
        Case(id=None, subject="   ", customer_id="c1", created_at=NOW, updated_at=NOW)
