"""Handing a case on from its page: escalation with a handoff summary, merge and split.

Each route calls one lifecycle service; a refusal redraws the case page with the reason
above it, the same way the case page's own forms do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Response

from caredesk.domain.errors import DomainError, ValidationFailed
from caredesk.services.lifecycle import lifecycle
from caredesk.web.pages.case import CaseId, case_refused
from caredesk.web.pages.common import WritePage, page_router, redirect

router = page_router()


def _ids(text: str, field: str) -> list[int]:
    values = text.replace(",", " ").replace("#", " ").split()
    if not values or not all(v.isdigit() and 0 < int(v) < 2**63 for v in values):
        raise ValidationFailed("give case numbers, like 12 14", details={"field": field})
    return [int(v) for v in values]


@router.post("/cases/{case_id}/escalate")
def escalate(
    case_id: CaseId,
    visit: WritePage,
    team: Annotated[str, Form(max_length=20)] = "",
    lead: Annotated[str, Form(max_length=20)] = "",
    summary: Annotated[str, Form(max_length=20_000)] = "",
    open_question: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        visit.run(
            lifecycle.escalate,
            case_id,
            team_id=int(team) if team.isdigit() else None,
            lead_id=int(lead) if lead.isdigit() else None,
            summary=summary.strip() or None,
            open_question=open_question.strip(),
        )
    except DomainError as exc:
        return case_refused(visit, case_id, exc)
    return redirect(f"/cases/{case_id}", "escalated")


@router.post("/cases/{case_id}/merge")
def merge(
    case_id: CaseId, visit: WritePage, sources: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    try:
        visit.run(lifecycle.merge_cases, case_id, _ids(sources, "sources"))
    except DomainError as exc:
        return case_refused(visit, case_id, exc)
    return redirect(f"/cases/{case_id}", "merged")


@router.post("/cases/{case_id}/split")
def split(
    case_id: CaseId,
    visit: WritePage,
    messages: Annotated[list[int] | None, Form()] = None,
    subject: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        if not messages:
            raise ValidationFailed("tick the messages to move", details={"field": "messages"})
        result = visit.run(lifecycle.split_case, case_id, messages, subject=subject.strip() or None)
    except DomainError as exc:
        return case_refused(visit, case_id, exc)
    return redirect(f"/cases/{result.case.id}", "split")
