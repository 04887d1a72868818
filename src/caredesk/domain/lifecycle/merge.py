"""Merge and split: the links between cases and the rules that keep every story whole."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from caredesk.domain.cases import Case, CaseStatus, Message, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed


class LinkKind(StrEnum):
    MERGED_INTO = "merged_into"  # source case → the case it was merged into
    SPLIT_FROM = "split_from"  # new case → the case its messages came from
    FOLLOW_UP_OF = "follow_up_of"  # new case → the solved or closed case it follows


@dataclass(slots=True)
class CaseLink:
    id: int | None
    kind: LinkKind
    case_id: int
    other_case_id: int
    created_at: datetime
    created_by: str
    message_ids: list[int] = field(default_factory=list)
    grant_ids: list[int] = field(default_factory=list)
    # The case's state before a merge closed it, so an unmerge puts it back exactly.
    prior: dict[str, Any] = field(default_factory=dict)
    undone_at: datetime | None = None
    undone_by: str | None = None

    def undo(self, actor_ref: str, now: datetime) -> None:
        if self.kind is LinkKind.FOLLOW_UP_OF:
            raise DomainError(
                "a follow-up link records history and cannot be undone",
                code=ErrorCode.CANNOT_MERGE,
                details={"link_id": self.id},
            )
        if self.undone_at is not None:
            raise DomainError(
                f"this {self.kind.value.replace('_', ' ')} was already undone",
                code=ErrorCode.ALREADY_UNDONE,
                details={"link_id": self.id, "undone_at": self.undone_at.isoformat()},
            )
        self.undone_at = now
        self.undone_by = actor_ref


def check_merge(
    target: Case,
    sources: Sequence[Case],
    *,
    merged_away: Iterable[int],
    force: bool,
    may_force: bool,
) -> None:
    """Refuse a merge that would lose or mix up a story, before anything changes."""
    if not sources:
        raise ValidationFailed(
            "name at least one case to merge", details={"field": "source_case_ids"}
        )
    gone = set(merged_away)
    ids = [c.id for c in sources]
    if target.id in ids:
        raise DomainError(
            "a case cannot be merged into itself",
            code=ErrorCode.CANNOT_MERGE,
            details={"case_id": target.id},
        )
    if len(set(ids)) != len(ids):
        raise ValidationFailed("a case is named twice", details={"field": "source_case_ids"})
    for case in [target, *sources]:
        if case.id in gone:
            raise DomainError(
                f"case {case.id} was already merged into another case",
                code=ErrorCode.CANNOT_MERGE,
                details={"case_id": case.id},
            )
    if target.status is CaseStatus.CLOSED:
        raise DomainError(
            "a closed case cannot take in other cases",
            code=ErrorCode.CANNOT_MERGE,
            details={"case_id": target.id, "status": target.status.value},
        )
    strangers = sorted({c.customer_id for c in sources if c.customer_id != target.customer_id})
    if strangers:
        if not force:
            raise DomainError(
                "these cases belong to different customers; an admin may force the merge",
                code=ErrorCode.DIFFERENT_CUSTOMERS,
                details={"customer_id": target.customer_id, "others": strangers},
            )
        if not may_force:
            raise DomainError(
                "only an admin may merge cases of different customers",
                code=ErrorCode.FORBIDDEN,
                details={"customer_id": target.customer_id, "others": strangers},
            )


def check_split(messages: Sequence[Message], message_ids: Sequence[int]) -> list[Message]:
    """The messages to move into a new case; the case must keep at least one of its own."""
    if not message_ids:
        raise ValidationFailed("name the messages to split off", details={"field": "message_ids"})
    by_id = {m.id: m for m in messages}
    unknown = [i for i in message_ids if i not in by_id]
    if unknown:
        raise DomainError(
            "these messages are not on the case",
            code=ErrorCode.CANNOT_SPLIT,
            details={"message_ids": unknown},
        )
    chosen = set(message_ids)
    if len(chosen) >= len(messages):
        raise DomainError(
            "the case's only messages cannot be split off: it would be left empty",
            code=ErrorCode.CANNOT_SPLIT,
            details={"messages_on_case": len(messages)},
        )
    moved = [m for m in messages if m.id in chosen]
    if all(m.kind is MessageKind.NOTE for m in moved):
        raise DomainError(
            "a new case needs at least one message to or from the customer, not only notes",
            code=ErrorCode.CANNOT_SPLIT,
            details={"message_ids": sorted(chosen)},
        )
    return moved


def close_as_merged(case: Case, target_id: int, now: datetime) -> dict[str, Any]:
    """Close a merged-away case (whatever its status) and return what an unmerge restores.

    This bypasses the status machine on purpose: a merge is not a resolution, and an
    unmerge must bring the case back exactly as it was, even from closed.
    """
    prior = {
        "status": case.status.value,
        "solved_at": case.solved_at.isoformat() if case.solved_at else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.custom_fields = {**case.custom_fields, "merged_into": target_id}
    case.updated_at = now
    return prior


def restore_after_unmerge(case: Case, prior: dict[str, Any], now: datetime) -> None:
    case.status = CaseStatus(prior["status"])
    case.solved_at = datetime.fromisoformat(prior["solved_at"]) if prior["solved_at"] else None
    case.closed_at = datetime.fromisoformat(prior["closed_at"]) if prior["closed_at"] else None
    case.custom_fields = {k: v for k, v in case.custom_fields.items() if k != "merged_into"}
    case.updated_at = now
