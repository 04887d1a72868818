"""The case a lifecycle step acts on: found, followed past merges, and noted on by the desk."""

from __future__ import annotations

from datetime import datetime

from caredesk.domain.cases import Case, Message, MessageKind
from caredesk.domain.errors import must_exist
from caredesk.services.lifecycle.unit import LifecycleUnit


def get_case(uow: LifecycleUnit, case_id: int) -> Case:
    return must_exist(uow.cases.get(case_id), "case", case_id)


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
