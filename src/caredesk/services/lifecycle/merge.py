"""Merge, split and undo: cases joined or parted with every message, grant and trail kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor, Permission, Role
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Case, CaseStatus
from caredesk.domain.errors import DomainError, ErrorCode, must_exist
from caredesk.domain.lifecycle import merge as rules
from caredesk.domain.lifecycle.merge import CaseLink, LinkKind
from caredesk.services.core.commands import command
from caredesk.services.lifecycle.cases import get_case, successor_case
from caredesk.services.lifecycle.unit import LifecycleUnit


@dataclass(frozen=True, slots=True)
class MergeResult:
    case: Case
    links: list[CaseLink]


@command
def merge_cases(
    uow: LifecycleUnit,
    actor: Actor,
    now: datetime,
    target_id: int,
    source_ids: Sequence[int],
    *,
    force: bool = False,
) -> MergeResult:
    """Merge cases into one: their messages, notes and grants move to the target, their
    audit trails stay readable from it, and each merged case points to the target."""
    actor.require(Permission.WRITE_CASES)
    with uow:
        target = get_case(uow, target_id)
        sources = [get_case(uow, i) for i in source_ids]
        rules.check_merge(
            target,
            sources,
            merged_away=uow.lifecycle.merged_into([target_id, *source_ids]),
            force=force,
            may_force=actor.role is Role.ADMIN,
        )
        links = []
        target_before = target.snapshot()
        for source in sources:
            links.append(_merge_one(uow, actor, now, source, target))
        target.order_ids = list(
            dict.fromkeys([*target.order_ids, *(o for s in sources for o in s.order_ids)])
        )
        target.set_tags([*target.tags, *(t for s in sources for t in s.tags)])
        target.updated_at = now
        target.record_change(
            actor, now, target_before, "case.merged", extra={"merged": [s.id for s in sources]}
        )
        uow.cases.save(target)
        uow.commit()
        return MergeResult(target, links)


def _merge_one(
    uow: LifecycleUnit, actor: Actor, now: datetime, source: Case, target: Case
) -> CaseLink:
    assert source.id is not None and target.id is not None
    message_ids = [m.id for m in uow.cases.messages(source.id) if m.id is not None]
    grant_ids = uow.lifecycle.grant_ids(source.id)
    uow.lifecycle.move_messages(message_ids, target.id)
    uow.lifecycle.move_grants(grant_ids, target.id)
    before = source.snapshot()
    prior = rules.close_as_merged(source, target.id, now)
    link = CaseLink(
        None,
        LinkKind.MERGED_INTO,
        source.id,
        target.id,
        now,
        actor.ref,
        message_ids=message_ids,
        grant_ids=grant_ids,
        prior=prior,
    )
    uow.lifecycle.add_link(link)
    source.record_change(
        actor,
        now,
        before,
        "case.merged_into",
        extra={
            "merged_into": target.id,
            "link_id": link.id,
            "messages": len(message_ids),
            "grants": len(grant_ids),
        },
    )
    uow.cases.save(source)
    return link


@dataclass(frozen=True, slots=True)
class SplitResult:
    case: Case
    original: Case
    link: CaseLink


@command
def split_case(
    uow: LifecycleUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    message_ids: Sequence[int],
    *,
    subject: str | None = None,
) -> SplitResult:
    """Move some messages of a case into a new case of the same customer."""
    actor.require(Permission.WRITE_CASES)
    with uow:
        original = get_case(uow, case_id)
        if original.status is CaseStatus.CLOSED:
            raise DomainError(
                "a closed case cannot be split",
                code=ErrorCode.CANNOT_SPLIT,
                details={"case_id": case_id, "status": original.status.value},
            )
        moved = rules.check_split(uow.cases.messages(case_id), list(message_ids))
        case = successor_case(
            original,
            now,
            subject or f"Split from #{case_id}: {original.subject}",
            {"split_from": case_id},
        )
        case.change_status(CaseStatus.OPEN, now)
        uow.cases.add(case)
        assert case.id is not None
        ids = [m.id for m in moved if m.id is not None]
        uow.lifecycle.move_messages(ids, case.id)
        link = CaseLink(
            None, LinkKind.SPLIT_FROM, case.id, case_id, now, actor.ref, message_ids=ids
        )
        uow.lifecycle.add_link(link)
        case.opened(
            actor,
            now,
            by_customer=False,
            audit_after={"split_from": case_id, "link_id": link.id},
        )
        said = {"new_case_id": case.id, "message_ids": ids, "link_id": link.id}
        _record_link_change(uow, actor, now, original, "case.split", said)
        uow.commit()
        return SplitResult(case, original, link)


@dataclass(frozen=True, slots=True)
class UndoResult:
    link: CaseLink
    cases: list[Case]
    merge_link: CaseLink | None = None


@command
def undo_link(uow: LifecycleUnit, actor: Actor, now: datetime, link_id: int) -> UndoResult:
    """Unmerge (the merged case comes back as it was) or unsplit (the split-off case is
    merged back, itself a merge that can be undone)."""
    actor.require(Permission.WRITE_CASES)
    with uow:
        link = must_exist(uow.lifecycle.get_link(link_id), "case link", link_id)
        link.undo(actor.ref, now)
        uow.lifecycle.save_link(link)
        if link.kind is LinkKind.MERGED_INTO:
            result = _unmerge(uow, actor, now, link)
        else:
            result = _unsplit(uow, actor, now, link)
        uow.commit()
        return result


def _unmerge(uow: LifecycleUnit, actor: Actor, now: datetime, link: CaseLink) -> UndoResult:
    source, target = get_case(uow, link.case_id), get_case(uow, link.other_case_id)
    assert source.id is not None and target.id is not None
    # Only the messages still on the target go back: any split off since stay where they are.
    still_there = {m.id for m in uow.cases.messages(target.id)}
    message_ids = [i for i in link.message_ids if i in still_there]
    grant_ids = [i for i in link.grant_ids if i in set(uow.lifecycle.grant_ids(target.id))]
    uow.lifecycle.move_messages(message_ids, source.id)
    uow.lifecycle.move_grants(grant_ids, source.id)
    moved = {"messages": len(message_ids), "grants": len(grant_ids)}
    before = source.snapshot()
    rules.restore_after_unmerge(source, link.prior, now)
    source.record_change(
        actor,
        now,
        before,
        "case.unmerged",
        extra={"link_id": link.id, "other_case_id": target.id, **moved},
    )
    uow.cases.save(source)
    said = {"link_id": link.id, "other_case_id": source.id, **moved}
    _record_link_change(uow, actor, now, target, "case.unmerged", said)
    return UndoResult(link, [source, target])


def _unsplit(uow: LifecycleUnit, actor: Actor, now: datetime, link: CaseLink) -> UndoResult:
    split_off, original = get_case(uow, link.case_id), get_case(uow, link.other_case_id)
    if uow.lifecycle.merged_into([split_off.id or 0]) or original.status is CaseStatus.CLOSED:
        raise DomainError(
            "the split-off case was merged away or the original closed since; merge them by hand",
            code=ErrorCode.CANNOT_MERGE,
            details={"case_id": split_off.id, "original_case_id": original.id},
        )
    merge_link = _merge_one(uow, actor, now, split_off, original)
    said = {"link_id": link.id, "split_case_id": split_off.id, "merge_link_id": merge_link.id}
    _record_link_change(uow, actor, now, original, "case.unsplit", said)
    return UndoResult(link, [split_off, original], merge_link)


def _record_link_change(
    uow: LifecycleUnit, actor: Actor, now: datetime, case: Case, action: str, said: dict[str, Any]
) -> None:
    """A case whose messages or links moved: its trail says what happened, whether or not
    one of its own fields changed."""
    before = case.snapshot()
    case.updated_at = now
    case.record_change(actor, now, before, action, audit_after=said)
    uow.cases.save(case)


def case_links(uow: LifecycleUnit, actor: Actor, case_id: int) -> list[CaseLink]:
    actor.require(Permission.READ)
    with uow:
        get_case(uow, case_id)
        return uow.lifecycle.links(case_id)


def merged_trail(uow: LifecycleUnit, actor: Actor, case_id: int) -> list[AuditEvent]:
    """The case's audit trail with those of every case merged into it, in time order."""
    actor.require(Permission.READ)
    with uow:
        get_case(uow, case_id)
        case_ids, frontier = {case_id}, [case_id]
        while frontier:
            current = frontier.pop()
            for link in uow.lifecycle.links(current):
                if (
                    link.kind is LinkKind.MERGED_INTO
                    and link.undone_at is None
                    and link.other_case_id == current
                    and link.case_id not in case_ids
                ):
                    case_ids.add(link.case_id)
                    frontier.append(link.case_id)
        events = [e for i in sorted(case_ids) for e in uow.audit.for_case(i)]
        return sorted(events, key=lambda e: (e.at, e.id or 0))
