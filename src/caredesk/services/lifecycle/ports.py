"""What the lifecycle services need from storage: handoffs, repeat asks, commitments,
case links and proactive findings, plus moving messages and grants between cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from caredesk.domain.lifecycle import (
    CaseLink,
    Commitment,
    CommitmentStatus,
    FindingRecord,
    Handoff,
    RepeatAsk,
)


@dataclass(frozen=True, slots=True)
class RepeatAskCount:
    """Repeat asks grouped by one key (a case id or an agent id), with their kinds."""

    key: int | None
    total: int
    by_kind: dict[str, int]


@dataclass(frozen=True, slots=True)
class CommitmentFilter:
    case_id: int | None = None
    owner_agent_id: int | None = None
    status: CommitmentStatus | None = None
    due_before: datetime | None = None


class LifecycleRepository(Protocol):
    def add_handoff(self, handoff: Handoff) -> None: ...

    def handoffs(self, case_id: int) -> list[Handoff]: ...

    def handoffs_and_links(self, case_id: int) -> tuple[list[Handoff], list[CaseLink]]:
        """The case's handoffs and its links, read together; `handoffs` and `links` then find
        them again without another read until this repository writes either."""
        ...

    def add_repeat_asks(self, asks: Sequence[RepeatAsk]) -> None: ...

    def repeat_asks(self, case_id: int) -> list[RepeatAsk]: ...

    def repeat_ask_counts(
        self, by: str, since: datetime | None, limit: int
    ) -> list[RepeatAskCount]:
        """Counts grouped `by` "case" or "agent", most first."""
        ...

    def add_commitment(self, commitment: Commitment) -> None: ...

    def get_commitment(self, commitment_id: int) -> Commitment | None: ...

    def save_commitment(self, commitment: Commitment) -> None: ...

    def commitments(self, filters: CommitmentFilter, limit: int) -> list[Commitment]: ...

    def missed_counts(self, by: str) -> dict[int | None, int]:
        """Missed commitments per case or per owner."""
        ...

    def add_link(self, link: CaseLink) -> None: ...

    def get_link(self, link_id: int) -> CaseLink | None: ...

    def save_link(self, link: CaseLink) -> None: ...

    def links(self, case_id: int) -> list[CaseLink]:
        """Every link from or to the case, oldest first."""
        ...

    def merged_into(self, case_ids: Sequence[int]) -> dict[int, int]:
        """For the cases merged away (and not unmerged): the case each now lives in."""
        ...

    def move_messages(self, message_ids: Sequence[int], to_case_id: int) -> None: ...

    def move_grants(self, grant_ids: Sequence[int], to_case_id: int) -> None: ...

    def grant_ids(self, case_id: int) -> list[int]: ...

    def finding(self, key: str) -> FindingRecord | None: ...

    def add_finding(self, finding: FindingRecord) -> None: ...

    def save_finding(self, finding: FindingRecord) -> None: ...

    def findings(self, limit: int) -> list[FindingRecord]: ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasLifecycle(Protocol):
    @property
    def lifecycle(self) -> LifecycleRepository: ...
