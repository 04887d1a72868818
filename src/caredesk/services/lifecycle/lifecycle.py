"""Case lifecycle use cases: escalate with a handoff, count repeat asks, keep commitments,
open proactive cases, route replies to solved cases, merge, split and undo.

Each public function is one unit of work, except the sweeps and the scan, which take a
unit-of-work factory and use one transaction per case so one bad record stops nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from caredesk.domain.agents import Actor, Permission, Role
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Case, CaseStatus, Channel, Message, MessageAdded, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from caredesk.domain.events import Changed, Event
from caredesk.domain.lifecycle import (
    ISSUE_TYPE_FIELD,
    KNOWN_ISSUE_FIELD,
    LIVE_STATUSES,
    CaseLink,
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    Finding,
    FindingKind,
    FindingRecord,
    Handoff,
    HandoffFacts,
    IssueRef,
    KnownToDesk,
    LinkKind,
    RepeatAsk,
    ReplyDisposition,
    ScanThresholds,
    check_handoff,
    check_merge,
    check_split,
    close_as_merged,
    detect_commitments,
    detect_repeat_asks,
    draft_handoff_summary,
    known_issue_findings,
    open_case_about,
    order_findings,
    reply_disposition,
    restore_after_unmerge,
)
from caredesk.services.core.commands import command
from caredesk.services.core.messagebus import Handler
from caredesk.services.core.ports import CaseFilter, UnitOfWork, UnitOfWorkFactory
from caredesk.services.engine import grants
from caredesk.services.lifecycle.ports import CommitmentFilter, RepeatAskCount

log = logging.getLogger("caredesk.lifecycle")

# The planner recommends what the front line could grant, not what an admin could.
PLANNER = Actor(role=Role.AGENT)
PROACTIVE_TAG = "proactive"


@dataclass(frozen=True, slots=True)
class LifecycleOptions:
    """The desk's lifecycle settings, bound once by bootstrap."""

    timezone: tzinfo = UTC
    reopen_grace: timedelta = timedelta(days=7)
    commitment_warning: timedelta = timedelta(hours=1)
    scan: ScanThresholds = field(default_factory=ScanThresholds)
    notify_customer: bool = True


def _case(uow: UnitOfWork, case_id: int) -> Case:
    case = uow.cases.get(case_id)
    if case is None:
        raise NotFound("case", case_id)
    return case


# Notes the desk itself writes start with one of these; a handoff's "tried" leaves them out.
DESK_NOTES = (
    "Escalated. Handoff summary",
    "Commitment due",
    "Commitment missed",
    "Found by the proactive scan",
    "Recommended remedy",
    "The planner found no remedy",
)


def _note(uow: UnitOfWork, case: Case, now: datetime, body: str) -> Message:
    assert case.id is not None
    note = Message(id=None, case_id=case.id, kind=MessageKind.NOTE, body=body, created_at=now)
    uow.cases.add_message(note)
    return note


# --- Escalation ---------------------------------------------------------------------------


def _handoff_facts(uow: UnitOfWork, case: Case) -> HandoffFacts:
    assert case.id is not None
    orders: list[dict[str, Any]] = []
    products: list[str] = []
    for order_id in case.order_ids:
        order = uow.orders.get(order_id)
        if order is None:
            continue
        orders.append({"id": order.id, "status": order.status.value})
        products.extend(line.name for line in order.lines if line.name not in products)
    messages = uow.cases.messages(case.id)
    tried = [
        " ".join(m.body.split())[:200]
        for m in messages
        if m.kind is MessageKind.NOTE and m.body.strip() and not m.body.startswith(DESK_NOTES)
    ]
    grants = [
        f"{g.summary or ', '.join(g.remedy_ids)} ({g.status.value}, {g.cost})"
        for g in uow.grants.for_case(case.id)
    ]
    customer = uow.customers.get(case.customer_id)
    contacts = [*customer.emails, *customer.phones] if customer else []
    return HandoffFacts(
        orders=orders,
        products=products,
        tried=tried,
        grants=grants,
        attachments=sum(len(m.attachments) for m in messages if m.kind is MessageKind.INBOUND),
        customer_contacts=contacts,
    )


@dataclass(frozen=True, slots=True)
class HandoffDraft:
    case: Case
    summary: str
    facts: HandoffFacts


def draft_handoff(
    uow: UnitOfWork, actor: Actor, case_id: int, open_question: str = ""
) -> HandoffDraft:
    """The summary the desk proposes from what it already knows; the agent may accept it."""
    actor.require(Permission.READ)
    with uow:
        case = _case(uow, case_id)
        facts = _handoff_facts(uow, case)
        return HandoffDraft(case, draft_handoff_summary(case.subject, facts, open_question), facts)


@command
def escalate(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    case_id: int,
    *,
    team_id: int | None = None,
    lead_id: int | None = None,
    summary: str | None = None,
    open_question: str = "",
) -> Handoff:
    """Hand the case to a team or a lead, with a summary the receiver reads instead of
    asking the customer again. No summary means the agent accepts the desk's draft."""
    actor.require(Permission.WRITE_CASES)
    if team_id is None and lead_id is None:
        raise ValidationFailed("escalate to a team, a lead, or both", details={"field": "team_id"})
    with uow:
        case = _case(uow, case_id)
        if case.status is CaseStatus.CLOSED:
            raise DomainError(
                "a closed case cannot be escalated",
                code=ErrorCode.INVALID_TRANSITION,
                details={"from": case.status.value},
            )
        if team_id is not None and uow.teams.get(team_id) is None:
            raise NotFound("team", team_id)
        if lead_id is not None:
            lead = uow.agents.get(lead_id)
            if lead is None or not lead.active:
                raise NotFound("agent", lead_id)
            if lead.role not in (Role.LEAD, Role.ADMIN):
                raise ValidationFailed(
                    f"agent {lead_id} is not a lead", details={"field": "lead_id"}
                )
        facts = _handoff_facts(uow, case)
        drafted = summary is None or not summary.strip()
        text = draft_handoff_summary(case.subject, facts, open_question) if drafted else summary
        assert text is not None
        text, question = check_handoff(text, open_question)
        assert case.id is not None
        handoff = Handoff(
            id=None,
            case_id=case.id,
            summary=text,
            open_question=question,
            facts=facts.as_dict(),
            drafted=drafted,
            created_by=actor.ref,
            created_at=now,
            from_agent_id=actor.agent_id or case.assignee_id,
            to_team_id=team_id,
            to_agent_id=lead_id,
        )
        uow.lifecycle.add_handoff(handoff)
        before = case.snapshot()
        if team_id is not None:
            case.team_id = team_id
        # To a team alone, the case waits in the team's queue for whoever takes it.
        case.assignee_id = lead_id
        if case.status is CaseStatus.NEW:
            case.change_status(CaseStatus.OPEN, now)
        case.updated_at = now
        # The receiving team may run under another SLA policy: the clocks follow the event.
        case.record_change(actor, now, before, "case.escalated", extra={"handoff_id": handoff.id})
        uow.cases.save(case)
        _note(uow, case, now, f"Escalated. Handoff summary:\n{text}")
        uow.commit()
        return handoff


def case_handoffs(uow: UnitOfWork, actor: Actor, case_id: int) -> list[Handoff]:
    actor.require(Permission.READ)
    with uow:
        _case(uow, case_id)
        return uow.lifecycle.handoffs(case_id)


# --- Outbound messages: repeat asks and commitments ---------------------------------------


def known_to_desk(uow: UnitOfWork, case: Case) -> KnownToDesk:
    assert case.id is not None
    customer = uow.customers.get(case.customer_id)
    photos = any(
        a.content_type.startswith("image/")
        for m in uow.cases.messages(case.id)
        if m.kind is MessageKind.INBOUND
        for a in m.attachments
    )
    return KnownToDesk(
        order_number=bool(case.order_ids),
        address=bool(customer and customer.addresses),
        photos=photos,
        email=bool(customer and customer.emails),
        phone=bool(customer and customer.phones),
    )


def event_handler(options: LifecycleOptions) -> Handler:
    """The handler that reads every answer to a customer for repeat asks and promises."""

    def on_message_added(uow: UnitOfWork, event: Event) -> None:
        assert isinstance(event, MessageAdded)
        if event.message.kind is MessageKind.OUTBOUND:
            after_outbound(uow, event.actor, event.at, event.case, event.message, options)

    return on_message_added


def after_outbound(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    case: Case,
    message: Message,
    options: LifecycleOptions,
) -> tuple[list[RepeatAsk], list[Commitment]]:
    """Inside the reply's transaction: record its repeat asks and the promises it makes."""
    assert case.id is not None and message.id is not None
    kinds = detect_repeat_asks(message.body, known_to_desk(uow, case))
    asks = [RepeatAsk(None, case.id, message.id, actor.agent_id, kind, now) for kind in kinds]
    if asks:
        uow.lifecycle.add_repeat_asks(asks)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="message.repeat_ask",
                entity_type="message",
                entity_id=message.id,
                case_id=case.id,
                after={"asked_for": [k.value for k in kinds]},
            )
        )
    commitments = []
    for found in detect_commitments(message.body, now, options.timezone):
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
        uow.lifecycle.add_commitment(commitment)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="commitment.recorded",
                entity_type="commitment",
                entity_id=commitment.id,
                case_id=case.id,
                after=commitment.snapshot(),
            )
        )
        commitments.append(commitment)
    return asks, commitments


@dataclass(frozen=True, slots=True)
class RepeatAskReport:
    case_id: int
    items: list[RepeatAsk]

    @property
    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for ask in self.items:
            counts[ask.kind.value] = counts.get(ask.kind.value, 0) + 1
        return dict(sorted(counts.items()))


def case_repeat_asks(uow: UnitOfWork, actor: Actor, case_id: int) -> RepeatAskReport:
    actor.require(Permission.READ)
    with uow:
        _case(uow, case_id)
        return RepeatAskReport(case_id, uow.lifecycle.repeat_asks(case_id))


def repeat_ask_counts(
    uow: UnitOfWork, actor: Actor, *, by: str, since: datetime | None = None, limit: int = 50
) -> list[RepeatAskCount]:
    actor.require(Permission.READ)
    if by not in ("case", "agent"):
        raise ValidationFailed("count by 'case' or 'agent'", details={"field": "by"})
    with uow:
        return uow.lifecycle.repeat_ask_counts(by, since, limit)


# --- Commitments --------------------------------------------------------------------------


@command
def record_commitment(
    uow: UnitOfWork,
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
        case = _case(uow, case_id)
        if case.status is CaseStatus.CLOSED:
            raise DomainError(
                "a closed case takes no new commitments",
                code=ErrorCode.INVALID_TRANSITION,
                details={"from": case.status.value},
            )
        owner = owner_agent_id or actor.agent_id or case.assignee_id
        if owner is not None:
            agent = uow.agents.get(owner)
            if agent is None or not agent.active:
                raise NotFound("agent", owner)
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
        uow.lifecycle.add_commitment(commitment)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="commitment.recorded",
                entity_type="commitment",
                entity_id=commitment.id,
                case_id=case_id,
                after=commitment.snapshot(),
            )
        )
        uow.commit()
        return commitment


@command
def resolve_commitment(
    uow: UnitOfWork, actor: Actor, now: datetime, commitment_id: int, status: CommitmentStatus
) -> Commitment:
    """Mark a promise kept or cancelled."""
    actor.require(Permission.WRITE_CASES)
    with uow:
        commitment = uow.lifecycle.get_commitment(commitment_id)
        if commitment is None:
            raise NotFound("commitment", commitment_id)
        before = commitment.snapshot()
        commitment.resolve(status, now)
        uow.lifecycle.save_commitment(commitment)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action=f"commitment.{status.value}",
                entity_type="commitment",
                entity_id=commitment_id,
                case_id=commitment.case_id,
                before=before,
                after=commitment.snapshot(),
            )
        )
        uow.commit()
        return commitment


def list_commitments(
    uow: UnitOfWork, actor: Actor, filters: CommitmentFilter, limit: int = 100
) -> list[Commitment]:
    actor.require(Permission.READ)
    with uow:
        if filters.case_id is not None:
            _case(uow, filters.case_id)
        return uow.lifecycle.commitments(filters, limit)


@dataclass(frozen=True, slots=True)
class MissedCounts:
    by_case: dict[int | None, int]
    by_owner: dict[int | None, int]

    @property
    def total(self) -> int:
        return sum(self.by_case.values())


def missed_commitments(uow: UnitOfWork, actor: Actor) -> MissedCounts:
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


def live_case(uow: UnitOfWork, case: Case) -> Case:
    """The case a merged-away case now lives in (itself when it was not merged)."""
    seen = set()
    while case.id is not None and case.id not in seen:
        seen.add(case.id)
        target = uow.lifecycle.merged_into([case.id]).get(case.id)
        if target is None:
            return case
        case = _case(uow, target)
    return case


def sweep_commitments(
    uow_factory: UnitOfWorkFactory, actor: Actor, now: datetime, options: LifecycleOptions
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


def _owner_name(uow: UnitOfWork, owner_id: int | None) -> str:
    agent = uow.agents.get(owner_id) if owner_id is not None else None
    return agent.name if agent else "the case's team"


def _alert(
    uow: UnitOfWork, actor: Actor, now: datetime, c: Commitment, options: LifecycleOptions
) -> None:
    c.alerted_at = now
    uow.lifecycle.save_commitment(c)
    case = live_case(uow, _case(uow, c.case_id))
    local = c.due_at.astimezone(options.timezone)
    _note(
        uow, case, now,
        f"Commitment due {local:%a %d %b %H:%M %Z} for {_owner_name(uow, c.owner_agent_id)}: "
        f"{c.description}",
    )  # fmt: skip
    uow.publish(
        Changed(
            actor=actor,
            at=now,
            action="commitment.at_risk",
            entity_type="commitment",
            entity_id=c.id,
            case_id=case.id,
            after={"owner_agent_id": c.owner_agent_id, "due_at": c.due_at.isoformat()},
        )
    )


def _miss(uow: UnitOfWork, actor: Actor, now: datetime, c: Commitment) -> int | None:
    before = c.snapshot()
    c.status = CommitmentStatus.MISSED
    c.resolved_at = now
    uow.lifecycle.save_commitment(c)
    case = live_case(uow, _case(uow, c.case_id))
    reopened = None
    if case.status in (CaseStatus.SOLVED, CaseStatus.PENDING, CaseStatus.ON_HOLD):
        case.set_status(CaseStatus.OPEN, now, actor)
        uow.cases.save(case)
        reopened = case.id
    _note(uow, case, now, f"Commitment missed: {c.description}")
    uow.publish(
        Changed(
            actor=actor,
            at=now,
            action="commitment.missed",
            entity_type="commitment",
            entity_id=c.id,
            case_id=case.id,
            before=before,
            after=c.snapshot(),
        )
    )
    return reopened


# --- Replies to solved, closed and merged cases -------------------------------------------


def route_message(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    case: Case,
    kind: MessageKind,
    options: LifecycleOptions,
) -> Case:
    """The case a new message belongs on: the live case of a merged one; for a customer's
    reply to a case solved longer ago than the grace period (or closed), a new follow-up."""
    if kind is MessageKind.NOTE:
        return case
    case = live_case(uow, case)
    if kind is not MessageKind.INBOUND:
        return case
    if takes_reply(case, now, options.reopen_grace):
        return case
    return _open_follow_up(uow, actor, now, case)


def takes_reply(case: Case, now: datetime, grace: timedelta) -> bool:
    """Whether a customer's reply belongs on this case (else on a new, linked one)."""
    return reply_disposition(case, now, grace) is not ReplyDisposition.FOLLOW_UP


def link_follow_up(uow: UnitOfWork, actor: Actor, now: datetime, case_id: int, old: Case) -> None:
    """Record that a case opened elsewhere (by mail, say) follows up an earlier one."""
    assert old.id is not None
    uow.lifecycle.add_link(CaseLink(None, LinkKind.FOLLOW_UP_OF, case_id, old.id, now, actor.ref))
    uow.publish(
        Changed(
            actor=actor,
            at=now,
            action="case.followed_up",
            entity_type="case",
            entity_id=old.id,
            case_id=old.id,
            after={"follow_up_case_id": case_id},
        )
    )


def _open_follow_up(uow: UnitOfWork, actor: Actor, now: datetime, old: Case) -> Case:
    assert old.id is not None
    subject = old.subject if old.subject.lower().startswith("re:") else f"Re: {old.subject}"
    case = Case(
        id=None,
        subject=subject[:500],
        customer_id=old.customer_id,
        created_at=now,
        updated_at=now,
        channel=old.channel,
        priority=old.priority,
        team_id=old.team_id,
        assignee_id=old.assignee_id,
        order_ids=list(old.order_ids),
        custom_fields={"follow_up_of": old.id},
    )
    uow.cases.add(case)
    assert case.id is not None
    # The customer's message comes next, on its own event (triaged then).
    case.opened(actor, now, by_customer=False, audit_after={"follow_up_of": old.id})
    link_follow_up(uow, actor, now, case.id, old)
    return case


# --- Merge, split, undo -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MergeResult:
    case: Case
    links: list[CaseLink]


@command
def merge_cases(
    uow: UnitOfWork,
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
        target = _case(uow, target_id)
        sources = [_case(uow, i) for i in source_ids]
        check_merge(
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
    uow: UnitOfWork, actor: Actor, now: datetime, source: Case, target: Case
) -> CaseLink:
    assert source.id is not None and target.id is not None
    message_ids = [m.id for m in uow.cases.messages(source.id) if m.id is not None]
    grant_ids = uow.lifecycle.grant_ids(source.id)
    uow.lifecycle.move_messages(message_ids, target.id)
    uow.lifecycle.move_grants(grant_ids, target.id)
    before = source.snapshot()
    prior = close_as_merged(source, target.id, now)
    link = CaseLink(
        None, LinkKind.MERGED_INTO, source.id, target.id, now, actor.ref,
        message_ids=message_ids, grant_ids=grant_ids, prior=prior,
    )  # fmt: skip
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
    uow: UnitOfWork,
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
        original = _case(uow, case_id)
        if original.status is CaseStatus.CLOSED:
            raise DomainError(
                "a closed case cannot be split",
                code=ErrorCode.CANNOT_SPLIT,
                details={"case_id": case_id, "status": original.status.value},
            )
        moved = check_split(uow.cases.messages(case_id), list(message_ids))
        case = Case(
            id=None,
            subject=(subject or f"Split from #{case_id}: {original.subject}")[:500],
            customer_id=original.customer_id,
            created_at=now,
            updated_at=now,
            channel=original.channel,
            priority=original.priority,
            team_id=original.team_id,
            assignee_id=original.assignee_id,
            custom_fields={"split_from": case_id},
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
        before = original.snapshot()
        original.updated_at = now
        original.record_change(
            actor,
            now,
            before,
            "case.split",
            audit_after={"new_case_id": case.id, "message_ids": ids, "link_id": link.id},
        )
        uow.cases.save(original)
        uow.commit()
        return SplitResult(case, original, link)


@dataclass(frozen=True, slots=True)
class UndoResult:
    link: CaseLink
    cases: list[Case]
    merge_link: CaseLink | None = None


@command
def undo_link(uow: UnitOfWork, actor: Actor, now: datetime, link_id: int) -> UndoResult:
    """Unmerge (the merged case comes back as it was) or unsplit (the split-off case is
    merged back, itself a merge that can be undone)."""
    actor.require(Permission.WRITE_CASES)
    with uow:
        link = uow.lifecycle.get_link(link_id)
        if link is None:
            raise NotFound("case link", link_id)
        link.undo(actor.ref, now)
        uow.lifecycle.save_link(link)
        if link.kind is LinkKind.MERGED_INTO:
            result = _unmerge(uow, actor, now, link)
        else:
            result = _unsplit(uow, actor, now, link)
        uow.commit()
        return result


def _unmerge(uow: UnitOfWork, actor: Actor, now: datetime, link: CaseLink) -> UndoResult:
    source, target = _case(uow, link.case_id), _case(uow, link.other_case_id)
    assert source.id is not None and target.id is not None
    # Only the messages still on the target go back: any split off since stay where they are.
    still_there = {m.id for m in uow.cases.messages(target.id)}
    message_ids = [i for i in link.message_ids if i in still_there]
    grant_ids = [i for i in link.grant_ids if i in set(uow.lifecycle.grant_ids(target.id))]
    uow.lifecycle.move_messages(message_ids, source.id)
    uow.lifecycle.move_grants(grant_ids, source.id)
    moved = {"messages": len(message_ids), "grants": len(grant_ids)}
    before = source.snapshot()
    restore_after_unmerge(source, link.prior, now)
    source.record_change(
        actor,
        now,
        before,
        "case.unmerged",
        extra={"link_id": link.id, "other_case_id": target.id, **moved},
    )
    uow.cases.save(source)
    target_before = target.snapshot()
    target.updated_at = now
    target.record_change(
        actor,
        now,
        target_before,
        "case.unmerged",
        audit_after={"link_id": link.id, "other_case_id": source.id, **moved},
    )
    uow.cases.save(target)
    return UndoResult(link, [source, target])


def _unsplit(uow: UnitOfWork, actor: Actor, now: datetime, link: CaseLink) -> UndoResult:
    split_off, original = _case(uow, link.case_id), _case(uow, link.other_case_id)
    if uow.lifecycle.merged_into([split_off.id or 0]) or original.status is CaseStatus.CLOSED:
        raise DomainError(
            "the split-off case was merged away or the original closed since; merge them by hand",
            code=ErrorCode.CANNOT_MERGE,
            details={"case_id": split_off.id, "original_case_id": original.id},
        )
    merge_link = _merge_one(uow, actor, now, split_off, original)
    before = original.snapshot()
    original.updated_at = now
    original.record_change(
        actor,
        now,
        before,
        "case.unsplit",
        audit_after={
            "link_id": link.id,
            "split_case_id": split_off.id,
            "merge_link_id": merge_link.id,
        },
    )
    uow.cases.save(original)
    return UndoResult(link, [split_off, original], merge_link)


def case_links(uow: UnitOfWork, actor: Actor, case_id: int) -> list[CaseLink]:
    actor.require(Permission.READ)
    with uow:
        _case(uow, case_id)
        return uow.lifecycle.links(case_id)


def merged_trail(uow: UnitOfWork, actor: Actor, case_id: int) -> list[AuditEvent]:
    """The case's audit trail with those of every case merged into it, in time order."""
    actor.require(Permission.READ)
    with uow:
        _case(uow, case_id)
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


# --- Proactive cases ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanReport:
    found: int = 0
    opened: list[int] = field(default_factory=list)
    already_known: int = 0
    recommended: int = 0
    errors: list[str] = field(default_factory=list)


def _findings(uow: UnitOfWork, now: datetime, thresholds: ScanThresholds) -> list[Finding]:
    issues = [
        IssueRef(i.key, i.title, frozenset(i.product_ids), frozenset(i.variant_ids))
        for i in uow.known_issues.all(active_only=True)
        if i.product_ids or i.variant_ids
    ]
    found: list[Finding] = []
    orders = list(uow.orders.iterate())
    for order in orders:
        found.extend(order_findings(order, now, thresholds))
    found.extend(known_issue_findings(orders, issues))
    return found


def proactive_scan(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    now: datetime,
    options: LifecycleOptions,
) -> ScanReport:
    """Find what customers will complain about and open one case per finding, ever.

    Each case is opened (with the customer's notice, when the desk notifies first) in its
    own transaction with its finding's unique key, so two scans never open it twice. A
    finding the customer already has an open case about (the same order and issue) opens
    nothing and tells them nothing: it is counted as known. The planner's recommendation is
    added after; a scan that finds a case without one retries.
    """
    actor.require(Permission.WRITE_CASES)
    with uow_factory() as uow:
        findings = _findings(uow, now, options.scan)
        known = {f.key: uow.lifecycle.finding(f.key) for f in findings}
    opened: list[int] = []
    errors: list[str] = []
    already = recommended = 0
    for finding in findings:
        record = known[finding.key]
        if record is None:
            try:
                record = _open_proactive_case(uow_factory(), actor, now, finding, options)
            except DomainError as exc:
                if exc.code is ErrorCode.CONFLICT:
                    already += 1  # another scan opened it a moment ago
                else:
                    errors.append(f"{finding.key}: {exc.message}")
                continue
            if record is None:
                already += 1  # the customer's own open case is about it
                continue
            assert record.case_id is not None
            opened.append(record.case_id)
        else:
            already += 1
        if (
            record.recommendation is None
            and record.case_id is not None
            and _recommend(uow_factory, actor, now, record, errors)
        ):
            recommended += 1
    return ScanReport(len(findings), opened, already, recommended, errors)


@command
def _open_proactive_case(
    uow: UnitOfWork, actor: Actor, now: datetime, finding: Finding, options: LifecycleOptions
) -> FindingRecord | None:
    """The case opened for the finding, or None when an open case is about it already."""
    with uow:
        if uow.customers.get(finding.customer_id) is None:
            raise NotFound("customer", finding.customer_id)
        if open_case_about(finding, _live_cases(uow, finding.customer_id)) is not None:
            return None
        fields: dict[str, Any] = {ISSUE_TYPE_FIELD: finding.issue_type, "finding": finding.key}
        if finding.kind is FindingKind.KNOWN_ISSUE:
            fields[KNOWN_ISSUE_FIELD] = str(finding.facts["issue"])
        case = Case(
            id=None,
            subject=finding.subject[:500],
            customer_id=finding.customer_id,
            created_at=now,
            updated_at=now,
            channel=Channel.PROACTIVE,
            tags=[PROACTIVE_TAG, f"proactive:{finding.kind.value}".replace("_", "-")],
            order_ids=[finding.order_id] if finding.order_id else [],
            custom_fields=fields,
        )
        uow.cases.add(case)
        assert case.id is not None
        record = FindingRecord(
            id=None,
            key=finding.key,
            kind=finding.kind,
            customer_id=finding.customer_id,
            order_id=finding.order_id,
            case_id=case.id,
            facts=finding.facts,
            created_at=now,
        )
        uow.lifecycle.add_finding(record)
        case.opened(
            actor,
            now,
            by_customer=False,
            audit_after={"finding": finding.key, "facts": finding.facts},
        )
        _note(uow, case, now, "Found by the proactive scan. Facts: " + _describe(finding.facts))
        if options.notify_customer:
            # The desk's first reply (its clock is met), mailed through the durable queue
            # with the case: both or neither.
            notice = Message(
                id=None, case_id=case.id, kind=MessageKind.OUTBOUND, body=finding.notice,
                created_at=now,
            )  # fmt: skip
            case.receive_message(
                notice, now, actor, audit_after={"kind": "outbound", "proactive": True}
            )
            uow.cases.add_message(notice)
            uow.cases.save(case)
        uow.commit()
        return record


def _live_cases(uow: UnitOfWork, customer_id: str) -> Iterator[Case]:
    filters = CaseFilter(status=LIVE_STATUSES, customer_id=customer_id)
    cursor = None
    while True:
        page = uow.cases.find(filters, 100, cursor)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _describe(facts: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in facts.items())


def _recommend(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    now: datetime,
    record: FindingRecord,
    errors: list[str],
) -> bool:
    assert record.case_id is not None
    try:
        case_plan = grants.plan_case(uow_factory(), PLANNER, now, record.case_id)
    except DomainError as exc:
        errors.append(f"{record.key}: no recommendation: {exc.message}")
        return False
    offers = case_plan.plan.offers
    best = offers[0] if offers else None
    recommendation: dict[str, Any] = {
        "policy_version": case_plan.policy_version,
        "remedies": best.remedy_ids if best else [],
        "cost": str(best.cost) if best else "0",
        "expected_value": str(best.expected_value) if best else "0",
        "may_grant": best.decision.may_grant if best else False,
        "approver_role": best.decision.approver_role if best else None,
        "reasons": list(best.reasons) if best else [],
        "rules": best.rules if best else [],
    }
    with uow_factory() as uow:
        stored = uow.lifecycle.finding(record.key)
        if stored is None or stored.recommendation is not None:
            return False
        stored.recommendation = recommendation
        uow.lifecycle.save_finding(stored)
        case = _case(uow, record.case_id)
        text = (
            f"Recommended remedy: {', '.join(recommendation['remedies'])} "
            f"(cost {recommendation['cost']}). " + " ".join(recommendation["reasons"])
            if best
            else "The planner found no remedy the front line may grant for this finding."
        )
        _note(uow, case, now, text)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="proactive.recommended",
                entity_type="case",
                entity_id=record.case_id,
                case_id=record.case_id,
                after=recommendation,
            )
        )
        uow.commit()
    return True


def list_findings(uow: UnitOfWork, actor: Actor, limit: int = 100) -> list[FindingRecord]:
    actor.require(Permission.READ)
    with uow:
        return uow.lifecycle.findings(limit)
