"""The case a lifecycle step acts on: found, followed past merges, and noted on by the desk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from caredesk.domain.cases import Case, CaseStatus, CustomValue, Message, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, must_exist
from caredesk.services.lifecycle.unit import LifecycleUnit


def get_case(uow: LifecycleUnit, case_id: int) -> Case:
    return must_exist(uow.cases.get(case_id), "case", case_id)


def get_unclosed_case(uow: LifecycleUnit, case_id: int, refusal: str) -> Case:
    """The case, which must not be closed; `refusal` says what a closed case cannot have."""
    case = get_case(uow, case_id)
    if case.status is CaseStatus.CLOSED:
        raise DomainError(
            refusal, code=ErrorCode.INVALID_TRANSITION, details={"from": case.status.value}
        )
    return case


def successor_case(
    old: Case,
    now: datetime,
    subject: str,
    custom_fields: dict[str, CustomValue],
    order_ids: Sequence[str] = (),
) -> Case:
    """A new case of `old`'s customer, worked where `old` was: same channel, priority, team
    and assignee."""
    return Case(
        id=None,
        subject=subject[:500],
        customer_id=old.customer_id,
        created_at=now,
        updated_at=now,
        channel=old.channel,
        priority=old.priority,
        team_id=old.team_id,
        assignee_id=old.assignee_id,
        order_ids=list(order_ids),
        custom_fields=custom_fields,
    )


# Notes the desk itself writes start with one of these; a handoff's "tried" leaves them out.
DESK_NOTES = (
    "Escalated. Handoff summary",
    "Commitment due",
    "Commitment missed",
    "Found by the proactive scan",
    "Recommended remedy",
    "The planner found no remedy",
)


def add_note(uow: LifecycleUnit, case: Case, now: datetime, body: str) -> Message:
    assert case.id is not None
    note = Message(id=None, case_id=case.id, kind=MessageKind.NOTE, body=body, created_at=now)
    uow.cases.add_message(note)
    return note


def live_case(uow: LifecycleUnit, case: Case) -> Case:
    """The case a merged-away case now lives in (itself when it was not merged)."""
    seen = set()
    while case.id is not None and case.id not in seen:
        seen.add(case.id)
        target = uow.lifecycle.merged_into([case.id]).get(case.id)
        if target is None:
            return case
        case = get_case(uow, target)
    return case
