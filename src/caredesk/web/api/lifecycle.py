"""The case lifecycle: escalations and handoffs, repeat asks, commitments, merge, split and
undo, and proactive cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from caredesk.domain.agents import Permission
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.lifecycle import (
    CommitmentStatus,
)
from caredesk.services.lifecycle import lifecycle
from caredesk.services.lifecycle.ports import CommitmentFilter
from caredesk.web.api.common import SMALL_ID_MAX, Call, IdPath, fields_of
from caredesk.web.api.schemas.cases import AuditEventOut, CaseOut
from caredesk.web.api.schemas.lifecycle import (
    CaseLinkOut,
    CaseRepeatAsksOut,
    CommitmentIn,
    CommitmentOut,
    EscalationIn,
    FindingOut,
    HandoffDraftOut,
    HandoffOut,
    MergeIn,
    MergeOut,
    MissedOut,
    RepeatAskCountOut,
    RepeatAskOut,
    ResolveIn,
    ScanOut,
    SplitIn,
    SplitOut,
    UndoOut,
)
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["lifecycle"])


# --- Schemas ------------------------------------------------------------------------------


# --- Escalation ---------------------------------------------------------------------------


@router.get("/cases/{case_id}/handoff-draft")
def handoff_draft(
    case_id: IdPath, call: Call, open_question: Annotated[str, Query(max_length=1000)] = ""
) -> HandoffDraftOut:
    draft = call.read(lifecycle.draft_handoff, case_id, open_question)
    return HandoffDraftOut(case_id=case_id, summary=draft.summary, facts=draft.facts.as_dict())


@router.post("/cases/{case_id}/escalations", status_code=status.HTTP_201_CREATED)
def escalate(case_id: IdPath, body: EscalationIn, call: Call) -> HandoffOut:
    handoff = call.run(lifecycle.escalate, case_id, **fields_of(body))
    return HandoffOut.of(handoff)


@router.get("/cases/{case_id}/handoffs")
def handoffs(case_id: IdPath, call: Call) -> list[HandoffOut]:
    return [HandoffOut.of(h) for h in call.read(lifecycle.case_handoffs, case_id)]


# --- Repeat asks --------------------------------------------------------------------------


@router.get("/cases/{case_id}/repeat-asks")
def case_repeat_asks(case_id: IdPath, call: Call) -> CaseRepeatAsksOut:
    report = call.read(lifecycle.case_repeat_asks, case_id)
    return CaseRepeatAsksOut(
        case_id=case_id,
        total=len(report.items),
        by_kind=report.by_kind,
        items=[RepeatAskOut.of(a) for a in report.items],
    )


@router.get("/repeat-asks")
def repeat_ask_counts(
    call: Call,
    by: Literal["agent", "case"] = "agent",
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RepeatAskCountOut]:
    counts = call.read(lifecycle.repeat_ask_counts, by=by, since=since, limit=limit)
    return [RepeatAskCountOut(key=c.key, total=c.total, by_kind=c.by_kind) for c in counts]


# --- Commitments --------------------------------------------------------------------------


@router.post("/cases/{case_id}/commitments", status_code=status.HTTP_201_CREATED)
def record_commitment(case_id: IdPath, body: CommitmentIn, call: Call) -> CommitmentOut:
    fields = fields_of(body, due_at=_utc(body.due_at))
    commitment = call.run(lifecycle.record_commitment, case_id, **fields)
    return CommitmentOut.of(commitment)


def _utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationFailed("due_at is out of range", details={"field": "due_at"}) from exc


@router.get("/cases/{case_id}/commitments")
def case_commitments(case_id: IdPath, call: Call) -> list[CommitmentOut]:
    found = call.read(lifecycle.list_commitments, CommitmentFilter(case_id=case_id), limit=500)
    return [CommitmentOut.of(c) for c in found]


@router.get("/commitments")
def list_commitments(
    call: Call,
    owner_agent_id: Annotated[int | None, Query(ge=1, le=SMALL_ID_MAX)] = None,
    status_: Annotated[CommitmentStatus | None, Query(alias="status")] = None,
    due_before: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CommitmentOut]:
    filters = CommitmentFilter(
        owner_agent_id=owner_agent_id,
        status=status_,
        due_before=_utc(due_before) if due_before else None,
    )
    found = call.read(lifecycle.list_commitments, filters, limit)
    return [CommitmentOut.of(c) for c in found]


@router.get("/commitments/missed")
def missed_commitments(call: Call) -> MissedOut:
    counts = call.read(lifecycle.missed_commitments)
    return MissedOut(
        total=counts.total,
        by_case={str(k): v for k, v in counts.by_case.items()},
        by_owner={"none" if k is None else str(k): v for k, v in counts.by_owner.items()},
    )


@router.post("/commitments/{commitment_id}/resolve")
def resolve_commitment(commitment_id: IdPath, body: ResolveIn, call: Call) -> CommitmentOut:
    commitment = call.run(
        lifecycle.resolve_commitment, commitment_id, CommitmentStatus(body.status)
    )
    return CommitmentOut.of(commitment)


@router.post("/commitments/sweep")
def sweep_commitments(call: Call) -> dict[str, list[int]]:
    """Run the commitment sweep now (the worker runs it every minute)."""
    call.actor.require(Permission.APPROVE)
    report = lifecycle.sweep_commitments(
        call.container.uow, call.actor, call.now(), call.container.lifecycle
    )
    return {"alerted": report.alerted, "missed": report.missed, "reopened": report.reopened}


# --- Merge, split, undo -------------------------------------------------------------------


@router.post("/cases/{case_id}/merge")
def merge_cases(case_id: IdPath, body: MergeIn, call: Call) -> MergeOut:
    result = call.run(lifecycle.merge_cases, case_id, body.source_case_ids, force=body.force)
    call.set_etag(result.case.version)
    return MergeOut(case=CaseOut.of(result.case), links=[CaseLinkOut.of(x) for x in result.links])


@router.post("/cases/{case_id}/split", status_code=status.HTTP_201_CREATED)
def split_case(case_id: IdPath, body: SplitIn, call: Call) -> SplitOut:
    result = call.run(lifecycle.split_case, case_id, body.message_ids, subject=body.subject)
    assert result.case.id is not None
    call.response.headers["Location"] = f"/api/v1/cases/{result.case.id}"
    return SplitOut(
        case=CaseOut.of(result.case),
        original=CaseOut.of(result.original),
        link=CaseLinkOut.of(result.link),
    )


@router.post("/case-links/{link_id}/undo")
def undo_link(link_id: IdPath, call: Call) -> UndoOut:
    result = call.run(lifecycle.undo_link, link_id)
    return UndoOut(
        link=CaseLinkOut.of(result.link),
        cases=[CaseOut.of(c) for c in result.cases],
        merge_link=CaseLinkOut.of(result.merge_link) if result.merge_link else None,
    )


@router.get("/cases/{case_id}/links")
def case_links(case_id: IdPath, call: Call) -> list[CaseLinkOut]:
    return [CaseLinkOut.of(x) for x in call.read(lifecycle.case_links, case_id)]


@router.get("/cases/{case_id}/trail")
def merged_trail(case_id: IdPath, call: Call) -> list[AuditEventOut]:
    """The audit trail of the case and of every case merged into it."""
    events = call.read(lifecycle.merged_trail, case_id)
    return [AuditEventOut.of(e) for e in events]


# --- Proactive cases ----------------------------------------------------------------------


@router.post("/proactive/scan")
def proactive_scan(call: Call) -> ScanOut:
    """Run the proactive scan now (the worker runs it on its timer)."""
    call.actor.require(Permission.APPROVE)
    report = lifecycle.proactive_scan(
        call.container.uow, call.actor, call.now(), call.container.lifecycle
    )
    return ScanOut.of(report)


@router.get("/proactive/findings")
def proactive_findings(
    call: Call, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[FindingOut]:
    return [FindingOut.of(f) for f in call.read(lifecycle.list_findings, limit)]
