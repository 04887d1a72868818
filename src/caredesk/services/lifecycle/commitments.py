"""Commitments: promises recorded by hand or read from an answer, kept, cancelled or missed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Case, CaseStatus, Message
from caredesk.domain.errors import DomainError, ValidationFailed, must_exist
from caredesk.domain.lifecycle import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    detect_commitments,
)
from caredesk.services.access.staff import active_agent
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.lifecycle.cases import add_note, get_case, get_unclosed_case, live_case
from caredesk.services.lifecycle.options import LifecycleOptions
from caredesk.services.lifecycle.ports import CommitmentFilter
from caredesk.services.lifecycle.unit import LifecycleUnit

log = logging.getLogger("caredesk.lifecycle")


@command
def record_commitment(
    uow: LifecycleUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    *,
    kind: CommitmentKind,
    description: str,
    due_at: datetime,
    owner_agent_id: int | None = None,
) -> Commitment:
    actor.require(Permission.WRITE_CASES)
    with uow:
        case = get_unclosed_case(uow, case_id, "a closed case takes no new commitments")
        owner = owner_agent_id or actor.agent_id or case.assignee_id
        if owner is not None:
            active_agent(uow, owner)
        if due_at.tzinfo is not None and due_at <= now:
            raise ValidationFailed("a commitment is due in the future", details={"field": "due_at"})
        commitment = Commitment(
            id=None,
            case_id=case_id,
            kind=kind,
            description=description,
            due_at=due_at,
            owner_agent_id=owner,
            created_at=now,
            created_by=actor.ref,
        )
        commitment.due_at = commitment.due_at.astimezone(UTC)
        _add(uow, actor, now, commitment)
        uow.commit()
        return commitment


def record_promises(
    uow: LifecycleUnit, actor: Actor, now: datetime, case: Case, message: Message, timezone: tzinfo
) -> list[Commitment]:
    """The clear promises an answer makes, recorded with when each falls due."""
    assert case.id is not None and message.id is not None
    commitments = []
    for found in detect_commitments(message.body, now, timezone):
        commitment = Commitment(
            id=None,
            case_id=case.id,
            kind=found.kind,
            description=found.text,
            due_at=found.due_at.astimezone(UTC),
            owner_agent_id=actor.agent_id or case.assignee_id,
            created_at=now,
            created_by=actor.ref,
            source="detected",
            message_id=message.id,
        )
        _add(uow, actor, now, commitment)
        commitments.append(commitment)
    return commitments


def _add(uow: LifecycleUnit, actor: Actor, now: datetime, commitment: Commitment) -> None:
    uow.lifecycle.add_commitment(commitment)
    publish_change(
        uow,
        actor,
        now,
        "commitment.recorded",
        "commitment",
        commitment.id,
        case_id=commitment.case_id,
        after=commitment.snapshot(),
    )


@command
def resolve_commitment(
    uow: LifecycleUnit, actor: Actor, now: datetime, commitment_id: int, status: CommitmentStatus
) -> Commitment:
    """Mark a promise kept or cancelled."""
    actor.require(Permission.WRITE_CASES)
    with uow:
        commitment = must_exist(
            uow.lifecycle.get_commitment(commitment_id), "commitment", commitment_id
        )
        before = commitment.snapshot()
        commitment.resolve(status, now)
        uow.lifecycle.save_commitment(commitment)
        publish_change(
            uow,
            actor,
            now,
            f"commitment.{status.value}",
            "commitment",
            commitment_id,
            case_id=commitment.case_id,
            before=before,
            after=commitment.snapshot(),
        )
        uow.commit()
        return commitment


def list_commitments(
    uow: LifecycleUnit, actor: Actor, filters: CommitmentFilter, limit: int = 100
) -> list[Commitment]:
    actor.require(Permission.READ)
    with uow:
        if filters.case_id is not None:
            get_case(uow, filters.case_id)
        return uow.lifecycle.commitments(filters, limit)


@dataclass(frozen=True, slots=True)
class MissedCounts:
    by_case: dict[int | None, int]
    by_owner: dict[int | None, int]

    @property
    def total(self) -> int:
        return sum(self.by_case.values())


def missed_commitments(uow: LifecycleUnit, actor: Actor) -> MissedCounts:
    actor.require(Permission.READ)
    with uow:
        return MissedCounts(
            uow.lifecycle.missed_counts("case"), uow.lifecycle.missed_counts("owner")
        )


@dataclass(frozen=True, slots=True)
class SweepReport:
    alerted: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)


def sweep_commitments(
    uow_factory: Callable[[], LifecycleUnit], actor: Actor, now: datetime, options: LifecycleOptions
) -> SweepReport:
    """Alert owners of promises about to be missed; mark missed ones and reopen their cases.

    Safe to run again after a crash: each commitment changes state in its own transaction,
    and a commitment alerted or missed once is not touched again.
    """
    actor.require(Permission.WRITE_CASES)
    with uow_factory() as uow:
        due = uow.lifecycle.commitments(
            CommitmentFilter(
                status=CommitmentStatus.OPEN, due_before=now + options.commitment_warning
            ),
            limit=10_000,
        )
    report = SweepReport()
    for candidate in due:
        assert candidate.id is not None
        try:
            with uow_factory() as uow:
                commitment = uow.lifecycle.get_commitment(candidate.id)
                if commitment is None:
                    continue
                if commitment.missed(now):
                    reopened = _miss(uow, actor, now, commitment)
                    report.missed.append(candidate.id)
                    if reopened is not None:
                        report.reopened.append(reopened)
                elif commitment.at_risk(now, options.commitment_warning):
                    _alert(uow, actor, now, commitment, options)
                    report.alerted.append(candidate.id)
                else:
                    continue
                uow.commit()
        except DomainError as exc:
            log.warning("commitment %s not swept: %s", candidate.id, exc.message)
    return report


def _owner_name(uow: LifecycleUnit, owner_id: int | None) -> str:
    agent = uow.agents.get(owner_id) if owner_id is not None else None
    return agent.name if agent else "the case's team"


def _alert(
    uow: LifecycleUnit, actor: Actor, now: datetime, c: Commitment, options: LifecycleOptions
) -> None:
    c.alerted_at = now
    uow.lifecycle.save_commitment(c)
    case = live_case(uow, get_case(uow, c.case_id))
    local = c.due_at.astimezone(options.timezone)
    add_note(
        uow,
        case,
        now,
        f"Commitment due {local:%a %d %b %H:%M %Z} for {_owner_name(uow, c.owner_agent_id)}: "
        f"{c.description}",
    )
    publish_change(
        uow,
        actor,
        now,
        "commitment.at_risk",
        "commitment",
        c.id,
        case_id=case.id,
        after={"owner_agent_id": c.owner_agent_id, "due_at": c.due_at.isoformat()},
    )


def _miss(uow: LifecycleUnit, actor: Actor, now: datetime, c: Commitment) -> int | None:
    before = c.snapshot()
    c.status = CommitmentStatus.MISSED
    c.resolved_at = now
    uow.lifecycle.save_commitment(c)
    case = live_case(uow, get_case(uow, c.case_id))
    reopened = None
    if case.status in (CaseStatus.SOLVED, CaseStatus.PENDING, CaseStatus.ON_HOLD):
        case.set_status(CaseStatus.OPEN, now, actor)
        uow.cases.save(case)
        reopened = case.id
    add_note(uow, case, now, f"Commitment missed: {c.description}")
    publish_change(
        uow,
        actor,
        now,
        "commitment.missed",
        "commitment",
        c.id,
        case_id=case.id,
        before=before,
        after=c.snapshot(),
    )
    return reopened
