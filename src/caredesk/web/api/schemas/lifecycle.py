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
from caredesk.services.lifecycle.lifecycle import ScanReport
from caredesk.web.api.common import BIG_ID_MAX
from caredesk.web.api.schemas.base import OutOf, SmallId, Strict
from caredesk.web.api.schemas.cases import CaseOut

BigId = Annotated[int, Field(ge=1, le=BIG_ID_MAX)]


class HandoffOut(OutOf[Handoff]):
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


class RepeatAskOut(OutOf[RepeatAsk]):
    id: int | None
    message_id: int
    agent_id: int | None
    kind: str
    created_at: datetime


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


class CommitmentOut(OutOf[Commitment]):
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


class CaseLinkOut(OutOf[CaseLink]):
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


class FindingOut(OutOf[FindingRecord]):
    id: int
    key: str
    kind: str
    customer_id: str
    order_id: str | None
    case_id: int | None
    facts: dict[str, Any]
    recommendation: dict[str, Any] | None
    created_at: datetime


class ScanOut(OutOf[ScanReport]):
    found: int
    opened: list[int]
    already_known: int
    recommended: int
    errors: list[str]
