"""Request and response bodies of the case lifecycle: escalations and handoffs, repeat asks,
commitments, merge, split and undo, proactive cases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from caredesk.domain.lifecycle import (
    CaseLink,
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    FindingRecord,
    Handoff,
    RepeatAsk,
)
from caredesk.web.api.common import BIG_ID_MAX
from caredesk.web.api.schemas.base import SmallId, Strict
from caredesk.web.api.schemas.cases import CaseOut

BigId = Annotated[int, Field(ge=1, le=BIG_ID_MAX)]


class HandoffOut(BaseModel):
    id: int
    case_id: int
    summary: str
    drafted: bool = Field(description="The agent accepted the desk's draft as the summary.")
    open_question: str
    facts: dict[str, Any]
    from_agent_id: int | None
    to_team_id: int | None
    to_agent_id: int | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, h: Handoff) -> HandoffOut:
        assert h.id is not None
        return cls(
            id=h.id,
            case_id=h.case_id,
            summary=h.summary,
            drafted=h.drafted,
            open_question=h.open_question,
            facts=h.facts,
            from_agent_id=h.from_agent_id,
            to_team_id=h.to_team_id,
            to_agent_id=h.to_agent_id,
            created_by=h.created_by,
            created_at=h.created_at,
        )


class HandoffDraftOut(BaseModel):
    case_id: int
    summary: str
    facts: dict[str, Any]


class EscalationIn(Strict):
    team_id: SmallId | None = None
    lead_id: SmallId | None = None
    summary: Annotated[str, Field(max_length=5000)] | None = Field(
        default=None, description="Leave out to accept the summary the desk drafts."
    )
    open_question: Annotated[str, Field(max_length=1000)] = ""


class RepeatAskOut(BaseModel):
    id: int | None
    message_id: int
    agent_id: int | None
    kind: str
    created_at: datetime

    @classmethod
    def of(cls, a: RepeatAsk) -> RepeatAskOut:
        return cls(
            id=a.id,
            message_id=a.message_id,
            agent_id=a.agent_id,
            kind=a.kind.value,
            created_at=a.created_at,
        )


class CaseRepeatAsksOut(BaseModel):
    case_id: int
    total: int
    by_kind: dict[str, int]
    items: list[RepeatAskOut]


class RepeatAskCountOut(BaseModel):
    key: int | None = Field(description="The case id or the agent id, as asked.")
    total: int
    by_kind: dict[str, int]


class CommitmentIn(Strict):
    kind: CommitmentKind
    description: Annotated[str, Field(min_length=1, max_length=1000)]
    due_at: AwareDatetime
    owner_agent_id: SmallId | None = None


class ResolveIn(Strict):
    status: Literal[CommitmentStatus.KEPT, CommitmentStatus.CANCELLED]


class CommitmentOut(BaseModel):
    id: int
    case_id: int
    kind: CommitmentKind
    description: str
    due_at: datetime
    owner_agent_id: int | None
    status: CommitmentStatus
    source: str
    message_id: int | None
    alerted_at: datetime | None
    resolved_at: datetime | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, c: Commitment) -> CommitmentOut:
        assert c.id is not None
        return cls(
            id=c.id,
            case_id=c.case_id,
            kind=c.kind,
            description=c.description,
            due_at=c.due_at,
            owner_agent_id=c.owner_agent_id,
            status=c.status,
            source=c.source,
            message_id=c.message_id,
            alerted_at=c.alerted_at,
            resolved_at=c.resolved_at,
            created_by=c.created_by,
            created_at=c.created_at,
        )


class MissedOut(BaseModel):
    total: int
    by_case: dict[str, int]
    by_owner: dict[str, int] = Field(description="Keyed by agent id ('none' when unowned).")


class MergeIn(Strict):
    source_case_ids: Annotated[list[BigId], Field(min_length=1, max_length=50)]
    force: bool = Field(default=False, description="Admins only: merge across customers.")


class SplitIn(Strict):
    message_ids: Annotated[list[BigId], Field(min_length=1, max_length=500)]
    subject: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class CaseLinkOut(BaseModel):
    id: int
    kind: str
    case_id: int
    other_case_id: int
    message_ids: list[int]
    grant_ids: list[int]
    created_by: str
    created_at: datetime
    undone_by: str | None
    undone_at: datetime | None

    @classmethod
    def of(cls, link: CaseLink) -> CaseLinkOut:
        assert link.id is not None
        return cls(
            id=link.id,
            kind=link.kind.value,
            case_id=link.case_id,
            other_case_id=link.other_case_id,
            message_ids=link.message_ids,
            grant_ids=link.grant_ids,
            created_by=link.created_by,
            created_at=link.created_at,
            undone_by=link.undone_by,
            undone_at=link.undone_at,
        )


class MergeOut(BaseModel):
    case: CaseOut
    links: list[CaseLinkOut]


class SplitOut(BaseModel):
    case: CaseOut
    original: CaseOut
    link: CaseLinkOut


class UndoOut(BaseModel):
    link: CaseLinkOut
    cases: list[CaseOut]
    merge_link: CaseLinkOut | None = Field(
        default=None, description="An unsplit merges the split-off case back; this undoes it."
    )


class FindingOut(BaseModel):
    id: int
    key: str
    kind: str
    customer_id: str
    order_id: str | None
    case_id: int | None
    facts: dict[str, Any]
    recommendation: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, f: FindingRecord) -> FindingOut:
        assert f.id is not None
        return cls(
            id=f.id,
            key=f.key,
            kind=f.kind.value,
            customer_id=f.customer_id,
            order_id=f.order_id,
            case_id=f.case_id,
            facts=f.facts,
            recommendation=f.recommendation,
            created_at=f.created_at,
        )


class ScanOut(BaseModel):
    found: int
    opened: list[int]
    already_known: int
    recommended: int
    errors: list[str]
